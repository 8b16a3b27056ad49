// The transport against the emulator's server with an echo application and fault switches.
#include "support.hpp"

#include <fedora/emulator/certificates.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/steady_timer.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>

using namespace test_support;
namespace http = fedora::http;
namespace emu = fedora::emulator;
using fedora::errc;
using clock_type = std::chrono::steady_clock;

namespace {

http::request post(const std::string& url, std::string body, bool safe)
{
    http::request r;
    r.method = bhttp::verb::post;
    r.url = boost::urls::url(url);
    r.headers.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    r.body = std::move(body);
    r.safe_to_repeat = safe;
    return r;
}

struct outcome
{
    fedora::error_code ec;
    http::response resp;
    double seconds = 0;
};

// Sends one request without throwing, timing it.
asio::awaitable<outcome> send(http::client& c, http::request r)
{
    auto t0 = clock_type::now();
    auto [ec, resp] = co_await c.async_send(std::move(r), asio::as_tuple(asio::use_awaitable));
    co_return outcome{ec, std::move(resp),
                      std::chrono::duration<double>(clock_type::now() - t0).count()};
}

outcome send_one(asio::io_context& ioc, http::client& c, http::request r)
{
    return run(ioc, [&]() { return send(c, std::move(r)); });
}

boost::json::object echo_of(const http::response& r)
{
    return boost::json::parse(r.body()).as_object();
}

// The transport runs calls without strands on an io_context promised to one thread
// (concurrency hint 1), and with a strand each otherwise: the cases that call this run
// both ways.
int concurrency_hint_both_ways()
{
    int hint = BOOST_ASIO_CONCURRENCY_HINT_DEFAULT;
    SUBCASE("io_context with the default concurrency hint: a strand per call") {}
    SUBCASE("io_context with concurrency hint 1: no strands") { hint = 1; }
    return hint;
}

// Lets the server notice closed sockets before its statistics are read.
void settle() { std::this_thread::sleep_for(100ms); }

} // namespace

TEST_CASE("a GET through the pool reaches the server and comes back")
{
    auto server = start_echo_server();
    asio::io_context ioc;
    http::client client(ioc.get_executor());
    auto resp = run(ioc, [&]() -> asio::awaitable<http::response> {
        co_return co_await client.async_send(get(server->origin() + "/echo?x=1"));
    });
    CHECK(resp.status() == 200);
    auto j = echo_of(resp);
    CHECK(j["target"].as_string() == "/echo?x=1");
    CHECK(j["headers"].as_object()["User-Agent"].as_string() == "fedora-client/0.1.0");
    CHECK(j["headers"].as_object()["Host"].as_string() ==
          "127.0.0.1:" + std::to_string(server->port()));
    CHECK(resp.diag.attempts == 1);
    // The pool is the origin's, named as origin_of() names it.
    const auto stats = client.stats();
    REQUIRE(stats.origins.size() == 1);
    CHECK(stats.origins.at(0).origin == http::origin_of(boost::urls::url(server->origin())));
    CHECK(stats.origins.at(0).origin == "http://127.0.0.1:" + std::to_string(server->port()));
}

TEST_CASE("the headers the transport adds: framing, Host, User-Agent, keep-alive, each once")
{
    auto server = start_echo_server();
    asio::io_context ioc;
    http::client_params p;
    p.accept_gzip = true;
    http::client client(ioc.get_executor(), p);
    const std::string host = "127.0.0.1:" + std::to_string(server->port());
    auto sent = [&](http::request r) {
        auto o = send_one(ioc, client, std::move(r));
        REQUIRE(!o.ec);
        auto req = server->last_request();
        REQUIRE(req.has_value());
        return *req;
    };
    auto count = [](const emu::http_request& r, bhttp::field f) {
        auto range = r.equal_range(f);
        return std::distance(range.first, range.second);
    };
    auto check_common = [&](const emu::http_request& r) {
        CHECK(count(r, bhttp::field::host) == 1);
        CHECK(r[bhttp::field::host] == host);
        CHECK(count(r, bhttp::field::user_agent) == 1);
        CHECK(count(r, bhttp::field::accept_encoding) == 1);
        CHECK(r.keep_alive());
        CHECK(count(r, bhttp::field::transfer_encoding) == 0);
    };

    SUBCASE("a POST with a body: its length")
    {
        auto r = sent(post(server->origin() + "/echo", "a=1&b=22", false));
        check_common(r);
        CHECK(r[bhttp::field::content_length] == "8");
        CHECK(r.body() == "a=1&b=22");
        CHECK(r[bhttp::field::user_agent] == "fedora-client/0.1.0");
        CHECK(r[bhttp::field::accept_encoding] == "gzip");
    }
    SUBCASE("a POST without a body: length 0")
    {
        auto r = sent(post(server->origin() + "/echo", "", false));
        check_common(r);
        CHECK(r[bhttp::field::content_length] == "0");
    }
    SUBCASE("a GET: no body, no length")
    {
        auto r = sent(get(server->origin() + "/echo"));
        check_common(r);
        CHECK(count(r, bhttp::field::content_length) == 0);
    }
    SUBCASE("the caller's own headers: kept once, or corrected where the wire needs it")
    {
        auto req = post(server->origin() + "/echo", "abc", false);
        req.headers.set(bhttp::field::user_agent, "mine/1.0");
        req.headers.set(bhttp::field::accept_encoding, "identity");
        req.headers.set(bhttp::field::host, "elsewhere.example");
        req.headers.set(bhttp::field::connection, "close");
        req.headers.set(bhttp::field::content_length, "99");
        auto r = sent(std::move(req));
        check_common(r);
        CHECK(r[bhttp::field::user_agent] == "mine/1.0");
        CHECK(r[bhttp::field::accept_encoding] == "identity");
        CHECK(r[bhttp::field::content_length] == "3");
        CHECK(r.body() == "abc");
        CHECK(client.stats().origins.at(0).idle == 1);  // the connection stayed open
    }
}

TEST_CASE("response_fields: the fields asked for and those the transport reads are kept, the rest dropped")
{
    static_assert(!http::field_set{bhttp::field::unknown}.contains(bhttp::field::unknown));
    static_assert(http::field_set{bhttp::field::xref}.contains(bhttp::field::xref));
    static_assert(!http::field_set{bhttp::field::a_im}.contains(bhttp::field::accept));

    auto server = start_echo_server();
    asio::io_context ioc;
    http::client client(ioc.get_executor());
    auto names = [](const http::response& r) {
        std::vector<std::string> out;
        for (const auto& f : r.message)
            out.emplace_back(f.name_string());
        return out;
    };
    auto values = [](const http::response& r, bhttp::field f) {
        std::vector<std::string> out;
        for (auto [it, end] = r.message.equal_range(f); it != end; ++it)
            out.emplace_back(it->value());
        return out;
    };

    auto all = send_one(ioc, client, get(server->origin() + "/headers"));
    REQUIRE(!all.ec);
    CHECK(all.resp.message[bhttp::field::cache_control] == "no-store");
    CHECK(all.resp.message["X-Custom"] == "custom");
    CHECK(all.resp.message[bhttp::field::content_type] == "application/json");
    CHECK(all.resp.message[bhttp::field::content_length] == "2");

    auto req = get(server->origin() + "/headers");
    req.response_fields = http::field_set{bhttp::field::set_cookie};
    auto some = send_one(ioc, client, std::move(req));
    REQUIRE(!some.ec);
    CHECK(some.resp.status() == 200);
    CHECK(some.resp.body() == "{}");
    CHECK(values(some.resp, bhttp::field::set_cookie) == std::vector<std::string>{"a=1; Path=/", "b=2; Path=/"});
    CHECK(some.resp.message[bhttp::field::retry_after] == "7");
    CHECK(some.resp.message[bhttp::field::location] == "/elsewhere");
    CHECK(some.resp.message[bhttp::field::content_encoding] == "identity");
    CHECK(names(some.resp) == std::vector<std::string>{"Set-Cookie", "Set-Cookie", "Retry-After", "Location",
                                                       "Content-Encoding"});
    // The framing was read though Content-Length was not kept: the connection carried both.
    const auto stats = client.stats();
    REQUIRE(stats.origins.size() == 1);
    CHECK(stats.origins.at(0).idle == 1);
    CHECK(stats.origins.at(0).opened == 1);
    CHECK(stats.origins.at(0).reused == 1);
}

TEST_CASE("1,000 sequential-and-concurrent requests share a pool of 8")
{
    auto server = start_echo_server();
    asio::io_context ioc(concurrency_hint_both_ways());
    http::client_params p;
    p.pool.max_connections_per_origin = 8;
    http::client client(ioc.get_executor(), p);
    std::atomic<int> matched{0}, failed{0};
    auto worker = [&](int w) -> asio::awaitable<void> {
        for (int i = 0; i < 50; ++i) {
            const std::string id = std::to_string(w) + "-" + std::to_string(i);
            auto o = co_await send(client, get(server->origin() + "/echo?id=" + id));
            if (!o.ec && echo_of(o.resp)["target"].as_string() == "/echo?id=" + id)
                ++matched;
            else
                ++failed;
        }
    };
    for (int w = 0; w < 20; ++w)
        asio::co_spawn(ioc, worker(w), asio::detached);
    ioc.run();
    CHECK(matched == 1000);
    CHECK(failed == 0);
    auto st = server->stats();
    CHECK(st.connections_peak <= 8);
    CHECK(st.connections_accepted <= 8);
    CHECK(st.requests_total == 1000);
    auto ps = client.stats();
    REQUIRE(ps.origins.size() == 1);
    CHECK(ps.origins[0].opened <= 8);
    CHECK(ps.origins[0].requests == 1000);
    CHECK(ps.origins[0].idle == ps.origins[0].opened);
}

TEST_CASE("1,000 concurrent calls, pool of 4, queue of 100: the rest are refused at once")
{
    emu::server_params sp;
    auto server = start_echo_server(sp);
    server->set_fault("/echo", {.kind = emu::fault_kind::latency, .delay = 20ms});
    asio::io_context ioc;
    http::client_params p;
    p.pool.max_connections_per_origin = 4;
    p.pool.max_waiting_per_origin = 100;
    p.default_timeout = 20s;
    http::client client(ioc.get_executor(), p);
    std::vector<int> completions(1000, 0);
    std::atomic<int> ok{0}, rejected{0}, other{0};
    std::atomic<double> slowest_rejection{0};
    const auto t0 = clock_type::now();
    for (int i = 0; i < 1000; ++i) {
        client.async_send(get(server->origin() + "/echo"),
                          [&, i](fedora::error_code ec, http::response) {
                              ++completions[i];
                              if (!ec)
                                  ++ok;
                              else if (ec == errc::queue_full) {
                                  ++rejected;
                                  double s = std::chrono::duration<double>(clock_type::now() - t0).count();
                                  if (s > slowest_rejection)
                                      slowest_rejection = s;
                              } else
                                  ++other;
                          });
    }
    ioc.run();
    for (int i = 0; i < 1000; ++i)
        CHECK(completions[i] == 1);
    CHECK(ok + rejected == 1000);
    CHECK(other == 0);
    CHECK(ok >= 104);
    CHECK(rejected >= 800);
    // Refusals come before the first answer (20 ms of server latency), not after a wait.
    CHECK(slowest_rejection.load() < 1.0);
    CHECK(server->stats().connections_peak <= 4);
    CHECK(client.stats().origins[0].queue_rejections == static_cast<std::uint64_t>(rejected));
}

TEST_CASE("deadlines: a stalled server, a trickling server, a server that never accepts")
{
    asio::io_context ioc(concurrency_hint_both_ways());
    SUBCASE("stall")
    {
        auto server = start_echo_server();
        server->set_fault("/echo", {.kind = emu::fault_kind::stall});
        http::client client(ioc.get_executor());
        auto r = get(server->origin() + "/echo");
        r.timeout = 1000ms;
        auto o = send_one(ioc, client, std::move(r));
        CHECK(o.ec == errc::timeout);
        CHECK(o.seconds == doctest::Approx(1.0).epsilon(0.1));
        CHECK(o.resp.diag.may_have_reached_server);
    }
    SUBCASE("trickle of one byte every 2 s")
    {
        auto server = start_echo_server();
        server->set_fault("/echo", {.kind = emu::fault_kind::trickle, .delay = 2000ms});
        http::client client(ioc.get_executor());
        auto r = get(server->origin() + "/echo");
        r.timeout = 3000ms;
        auto o = send_one(ioc, client, std::move(r));
        CHECK(o.ec == errc::timeout);
        CHECK(o.seconds == doctest::Approx(3.0).epsilon(0.1));
    }
    SUBCASE("never accepts")
    {
        emu::server_params sp;
        sp.accept = false;
        auto server = start_echo_server(sp);
        http::client client(ioc.get_executor());
        auto r = get(server->origin() + "/echo");
        r.timeout = 1000ms;
        auto o = send_one(ioc, client, std::move(r));
        CHECK(o.ec == errc::timeout);
        CHECK(o.seconds == doctest::Approx(1.0).epsilon(0.1));
    }
    SUBCASE("waiting in the queue counts against the deadline")
    {
        auto server = start_echo_server();
        server->set_fault("/echo", {.kind = emu::fault_kind::stall});
        http::client_params p;
        p.pool.max_connections_per_origin = 1;
        http::client client(ioc.get_executor(), p);
        std::vector<outcome> outs;
        auto r1 = get(server->origin() + "/echo");
        r1.timeout = 1500ms;
        auto r2 = get(server->origin() + "/echo");
        r2.timeout = 500ms;
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { outs.push_back(co_await send(client, r1)); }, asio::detached);
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { outs.push_back(co_await send(client, r2)); }, asio::detached);
        ioc.run();
        REQUIRE(outs.size() == 2);
        CHECK(outs[0].ec == errc::timeout);
        CHECK(outs[0].seconds == doctest::Approx(0.5).epsilon(0.1));
        CHECK_FALSE(outs[0].resp.diag.may_have_reached_server);
        CHECK(outs[1].ec == errc::timeout);
        CHECK(outs[1].seconds == doctest::Approx(1.5).epsilon(0.1));
    }
}

TEST_CASE("cancellation at random stages: one completion each, cancelled connections closed")
{
    auto server = start_echo_server();
    server->set_fault("/echo", {.kind = emu::fault_kind::latency, .delay = 3ms});
    asio::io_context ioc(concurrency_hint_both_ways());
    http::client_params p;
    p.pool.max_connections_per_origin = 8;
    http::client client(ioc.get_executor(), p);
    constexpr int calls = 400;
    std::vector<int> completions(calls, 0);
    std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
    std::vector<std::unique_ptr<asio::steady_timer>> timers;
    std::atomic<int> cancelled{0}, ok{0}, other{0};
    std::mt19937 rng(42);
    // Wide enough that some calls finish first even on a loaded machine.
    std::uniform_int_distribution<int> delay_us(0, 50000);
    for (int i = 0; i < calls; ++i) {
        signals.push_back(std::make_unique<asio::cancellation_signal>());
        timers.push_back(std::make_unique<asio::steady_timer>(ioc, std::chrono::microseconds(delay_us(rng))));
        client.async_send(get(server->origin() + "/echo?i=" + std::to_string(i)),
                          asio::bind_cancellation_slot(
                              signals[i]->slot(), [&, i](fedora::error_code ec, http::response r) {
                                  ++completions[i];
                                  if (!ec && echo_of(r)["target"].as_string() == "/echo?i=" + std::to_string(i))
                                      ++ok;
                                  else if (ec == errc::cancelled)
                                      ++cancelled;
                                  else
                                      ++other;
                              }));
        timers[i]->async_wait([&, i](fedora::error_code) {
            if (completions[i] == 0)
                signals[i]->emit(asio::cancellation_type::terminal);
        });
    }
    ioc.run();
    for (int i = 0; i < calls; ++i)
        CHECK(completions[i] == 1);
    CHECK(ok + cancelled == calls);
    CHECK(other == 0);
    CHECK(cancelled > 0);
    CHECK(ok > 0);
    settle();
    // Every socket the server still has open is one the pool keeps idle: no cancelled
    // connection went back into the pool, and none leaked.
    auto ps = client.stats().origins.at(0);
    CHECK(server->stats().connections_open == ps.idle);
    CHECK(ps.in_use == 0);
}

TEST_CASE("a cancellation while the request waits in the executor's queue to be written: cancelled, never sent")
{
    // The write starts from the executor's queue (see exchange() in lib/http/client.cpp),
    // where no operation holds the call's cancellation slot. On a kept-alive connection
    // and an io_context promised to one thread, everything before that runs inside
    // async_send, so a cancellation emitted right after it lands in that window.
    auto server = start_echo_server();
    asio::io_context ioc(1);
    http::client client(ioc.get_executor());
    asio::cancellation_signal signal;
    std::optional<fedora::error_code> second;
    std::string message;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto first = co_await client.async_send(get(server->origin() + "/echo?n=1"), asio::use_awaitable);
        CHECK(first.status() == 200);
        client.async_send(get(server->origin() + "/echo?n=2"),
                          asio::bind_cancellation_slot(signal.slot(), [&](fedora::error_code ec, http::response r) {
                              second = ec;
                              message = r.diag.message;
                          }));
        signal.emit(asio::cancellation_type::terminal);
    });
    REQUIRE(second.has_value());
    CHECK(*second == errc::cancelled);
    CHECK(message == "cancelled during the exchange");
    settle();
    CHECK(server->stats().requests_total == 1);
    CHECK(client.stats().origins.at(0).idle == 0);  // a cancelled call's connection is closed
}

TEST_CASE("a kept-alive connection the server closed")
{
    asio::io_context ioc(concurrency_hint_both_ways());
    SUBCASE("while idle: noticed before sending, safe and unsafe calls both succeed")
    {
        emu::server_params sp;
        sp.idle_timeout = 100ms;
        auto server = start_echo_server(sp);
        http::client client(ioc.get_executor());
        CHECK(!send_one(ioc, client, get(server->origin() + "/echo")).ec);
        std::this_thread::sleep_for(300ms);
        auto o = send_one(ioc, client, post(server->origin() + "/echo", "a=1", false));
        CHECK(!o.ec);
        CHECK(o.resp.diag.attempts == 1);
        CHECK(server->stats().connections_accepted == 2);
    }
    SUBCASE("while idle for less than probe_idle_after: trusted, so only a safe call survives it")
    {
        emu::server_params sp;
        sp.idle_timeout = 20ms;
        auto server = start_echo_server(sp);
        http::client_params cp;
        cp.pool.probe_idle_after = std::chrono::minutes(10);
        http::client client(ioc.get_executor(), cp);
        CHECK(!send_one(ioc, client, get(server->origin() + "/echo")).ec);
        std::this_thread::sleep_for(200ms);
        auto safe = send_one(ioc, client, post(server->origin() + "/echo", "a=1", true));
        CHECK(!safe.ec);
        CHECK(safe.resp.diag.attempts == 2);
        std::this_thread::sleep_for(200ms);
        auto unsafe = send_one(ioc, client, post(server->origin() + "/echo", "a=1", false));
        CHECK(unsafe.ec == errc::connect_error);
        CHECK(unsafe.resp.diag.may_have_reached_server);
        CHECK(unsafe.resp.diag.attempts == 1);
    }
    SUBCASE("probe_idle_after = 0 probes every reuse")
    {
        emu::server_params sp;
        sp.idle_timeout = 20ms;
        auto server = start_echo_server(sp);
        http::client_params cp;
        cp.pool.probe_idle_after = 0ms;
        http::client client(ioc.get_executor(), cp);
        CHECK(!send_one(ioc, client, get(server->origin() + "/echo")).ec);
        std::this_thread::sleep_for(200ms);
        auto o = send_one(ioc, client, post(server->origin() + "/echo", "a=1", false));
        CHECK(!o.ec);
        CHECK(o.resp.diag.attempts == 1);
        CHECK(server->stats().connections_accepted == 2);
    }
    SUBCASE("as the request arrives: a safe call is retried once, silently")
    {
        auto server = start_echo_server();
        http::client client(ioc.get_executor());
        CHECK(!send_one(ioc, client, get(server->origin() + "/echo")).ec);
        server->set_fault("/echo", {.kind = emu::fault_kind::close_before_response, .count = 1});
        auto o = send_one(ioc, client, post(server->origin() + "/echo", "a=1", true));
        CHECK(!o.ec);
        CHECK(o.resp.status() == 200);
        CHECK(o.resp.diag.attempts == 2);
        CHECK(client.stats().origins[0].retries == 1);
    }
    SUBCASE("as the request arrives: an unsafe call fails, saying it may have reached the server")
    {
        auto server = start_echo_server();
        http::client client(ioc.get_executor());
        CHECK(!send_one(ioc, client, get(server->origin() + "/echo")).ec);
        server->set_fault("/echo", {.kind = emu::fault_kind::close_before_response, .count = 1});
        auto o = send_one(ioc, client, post(server->origin() + "/echo", "a=1", false));
        CHECK(o.ec == errc::connect_error);
        CHECK(o.resp.diag.may_have_reached_server);
        CHECK(o.resp.diag.attempts == 1);
        CHECK(server->stats().requests_total == 2);
    }
    SUBCASE("a fresh connection that fails is not retried")
    {
        auto server = start_echo_server();
        http::client client(ioc.get_executor());
        server->set_fault("/echo", {.kind = emu::fault_kind::close_before_response, .count = 1});
        auto o = send_one(ioc, client, get(server->origin() + "/echo"));
        CHECK(o.ec == errc::connect_error);
        CHECK(o.resp.diag.attempts == 1);
    }
}

// TLS verification: see tls_matrix_test.cpp.

TEST_CASE("size limits and broken framing are typed errors and close the connection")
{
    auto server = start_echo_server();
    asio::io_context ioc;
    http::client_params p;
    p.header_limit = 2048;
    http::client client(ioc.get_executor(), p);
    const auto base = server->origin();

    auto expect = [&](http::request r, errc want) {
        auto o = send_one(ioc, client, std::move(r));
        CHECK(o.ec == want);
        settle();
        CHECK(client.stats().origins.at(0).idle == server->stats().connections_open);
    };

    auto small = get(base + "/bytes/5000");
    small.body_limit = 1000;
    expect(small, errc::limit_exceeded);
    expect(get(base + "/header/4000"), errc::limit_exceeded);
    CHECK(!send_one(ioc, client, get(base + "/bytes/5000")).ec);  // the default limit is large

    server->set_fault("/echo", {.kind = emu::fault_kind::close_after_bytes, .bytes = 90, .count = 1});
    expect(get(base + "/echo"), errc::protocol_error);
    server->set_fault("/echo", {.kind = emu::fault_kind::wrong_content_length, .count = 1});
    expect(get(base + "/echo"), errc::protocol_error);
    server->set_fault("/echo", {.kind = emu::fault_kind::broken_chunked, .count = 1});
    expect(get(base + "/echo"), errc::protocol_error);
    CHECK(!send_one(ioc, client, get(base + "/echo")).ec);
}

TEST_CASE("redirects")
{
    auto server = start_echo_server();
    auto other = start_echo_server();
    asio::io_context ioc(concurrency_hint_both_ways());
    const auto base = server->origin();

    SUBCASE("302 after a POST becomes a GET without body, on the same origin")
    {
        http::client client(ioc.get_executor());
        auto r = post(base + "/redirect?code=302&to=/echo%3Fafter", "secret=1", false);
        auto o = send_one(ioc, client, std::move(r));
        REQUIRE(!o.ec);
        auto j = echo_of(o.resp);
        CHECK(j["method"].as_string() == "GET");
        CHECK(j["body"].as_string() == "");
        CHECK(!j["headers"].as_object().contains("Content-Length"));  // the POST's framing is gone
        CHECK(!j["headers"].as_object().contains("Content-Type"));
        CHECK(j["target"].as_string() == "/echo?after");
        CHECK(o.resp.final_url.buffer() == base + "/echo?after");
    }
    SUBCASE("307 keeps the method and the body")
    {
        http::client client(ioc.get_executor());
        auto o = send_one(ioc, client, post(base + "/redirect?code=307&to=/echo", "a=1", false));
        REQUIRE(!o.ec);
        CHECK(echo_of(o.resp)["method"].as_string() == "POST");
        CHECK(echo_of(o.resp)["body"].as_string() == "a=1");
    }
    SUBCASE("at most 5")
    {
        http::client client(ioc.get_executor());
        auto o = send_one(ioc, client, get(base + "/loop"));
        CHECK(o.ec == errc::redirect_error);
        CHECK(server->stats().requests_total == 6);
        auto r = get(base + "/redirect?to=/echo");
        r.max_redirects = 0;
        auto o2 = send_one(ioc, client, std::move(r));
        CHECK(!o2.ec);
        CHECK(o2.resp.status() == 302);
    }
    SUBCASE("another origin is refused by default; when allowed, the cookie stays behind")
    {
        auto to_other = base + "/redirect?code=302&to=" + other->origin() + "/echo";
        auto with_cookie = [&] {
            auto r = get(to_other);
            r.headers.set(bhttp::field::cookie, "tg-visit=s3cret");
            r.headers.set(bhttp::field::authorization, "Basic Zm9vOmJhcg==");
            return r;
        };
        http::client strict(ioc.get_executor());
        auto o = send_one(ioc, strict, with_cookie());
        CHECK(o.ec == errc::redirect_error);
        CHECK(other->stats().requests_total == 0);

        http::client_params p;
        p.allow_cross_origin_redirects = true;
        http::client lax(ioc.get_executor(), p);
        auto o2 = send_one(ioc, lax, with_cookie());
        REQUIRE(!o2.ec);
        auto headers = echo_of(o2.resp)["headers"].as_object();
        CHECK_FALSE(headers.contains("Cookie"));
        CHECK_FALSE(headers.contains("Authorization"));
        CHECK(server->last_request()->find(bhttp::field::cookie) != server->last_request()->end());
    }
    SUBCASE("the redirect fault of the server: another origin")
    {
        server->set_fault("/echo", {.kind = emu::fault_kind::redirect_other_origin,
                                    .location = other->origin() + "/echo"});
        http::client client(ioc.get_executor());
        CHECK(send_one(ioc, client, get(base + "/echo")).ec == errc::redirect_error);
    }
    SUBCASE("https to http is refused")
    {
        emu::server_params sp;
        sp.tls = true;
        auto secure = start_echo_server(sp);
        http::client_params p;
        p.tls.ca_file = secure->ca_file();
        p.allow_cross_origin_redirects = true;
        http::client client(ioc.get_executor(), p);
        auto o = send_one(ioc, client, get(secure->origin() + "/redirect?to=" + base + "/echo"));
        CHECK(o.ec == errc::redirect_error);
        CHECK(o.resp.diag.message.find("https to http") != std::string::npos);
        CHECK(server->stats().requests_total == 0);
    }
}

TEST_CASE("form fields and path segments with hostile bytes: one well-formed request, intact")
{
    auto server = start_echo_server();
    asio::io_context ioc;
    http::client client(ioc.get_executor());
    const std::string values[] = {
        "a\r\nX-Injected: 1",
        std::string("nul\0byte", 8),
        "a/b/../c",
        "100%",
        "?x=1#frag",
        "sp ace+plus&amp=eq",
        "\xc3\xa9l\xc3\xa8ve",
        "\xff\xfe",
        std::string(10 * 1024, 'x'),
    };
    for (const auto& v : values) {
        server->reset_stats();
        boost::urls::url url(server->origin() + "/echo");
        REQUIRE(!http::append_path_segment(url, v));
        http::form f;
        f.add("value", v);
        auto o = send_one(ioc, client, post(url.buffer(), f.encode(), false));
        REQUIRE(!o.ec);
        CHECK(server->stats().requests_total == 1);
        auto j = echo_of(o.resp);
        auto target = boost::urls::parse_origin_form(j["target"].as_string()).value();
        REQUIRE(target.segments().size() == 2);
        CHECK(std::string(target.segments().back()) == v);
        CHECK_FALSE(target.has_query());
        auto back = http::form::decode(j["body"].as_string());
        REQUIRE(back.fields().size() == 1);
        CHECK(back.fields()[0].second == v);
        CHECK_FALSE(j["headers"].as_object().contains("X-Injected"));
    }
}

TEST_CASE("a retry policy repeats transient failures of safe calls, honouring Retry-After")
{
    auto server = start_echo_server();
    asio::io_context ioc(concurrency_hint_both_ways());
    http::client client(ioc.get_executor());
    server->set_fault("/echo", {.kind = emu::fault_kind::status_with_retry_after, .status = 503,
                                .retry_after_seconds = 1, .count = 1});
    auto r = get(server->origin() + "/echo");
    r.retry = http::retry_policy{.max_attempts = 3, .initial_backoff = 10ms};
    auto o = send_one(ioc, client, r);
    CHECK(!o.ec);
    CHECK(o.resp.status() == 200);
    CHECK(o.resp.diag.attempts == 2);
    CHECK(o.seconds >= 1.0);

    // Not for calls that are not safe to repeat.
    server->set_fault("/echo", {.kind = emu::fault_kind::server_error_html, .count = 1});
    auto unsafe = post(server->origin() + "/echo", "", false);
    unsafe.retry = http::retry_policy{.max_attempts = 3, .initial_backoff = 10ms};
    auto o2 = send_one(ioc, client, unsafe);
    CHECK(!o2.ec);
    CHECK(o2.resp.status() == 503);
    CHECK(o2.resp.diag.attempts == 1);

    // And never past the deadline: the 503 comes back as it is.
    server->set_fault("/echo", {.kind = emu::fault_kind::status_with_retry_after, .status = 503,
                                .retry_after_seconds = 30, .count = 1});
    auto r3 = r;
    r3.timeout = 2s;
    auto o3 = send_one(ioc, client, r3);
    CHECK(!o3.ec);
    CHECK(o3.resp.status() == 503);
    CHECK(o3.seconds < 1.0);
}

TEST_CASE("the observer sees each call without secrets; stats on request")
{
    auto server = start_echo_server();
    asio::io_context ioc;
    std::vector<std::string> seen;
    http::client_params p;
    p.on_exchange = [&](const http::exchange_event& e) {
        seen.push_back(std::string(bhttp::to_string(e.method)) + " " + std::string(e.path) + " " +
                       std::to_string(e.status) + " " + std::to_string(e.attempts));
    };
    http::client client(ioc.get_executor(), p);
    auto r = post(server->origin() + "/echo?password=hunter2", "password=hunter2", false);
    CHECK(!send_one(ioc, client, r).ec);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == "POST /echo 200 1");
}

TEST_CASE("completion styles: coroutine, callback, future")
{
    auto server = start_echo_server();
    asio::io_context ioc;
    http::client client(ioc.get_executor());
    const auto url = server->origin() + "/echo";

    // Coroutine with the default token: throws fedora::error with diagnostics.
    bool threw = false;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto ok = co_await client.async_send(get(url));
        CHECK(ok.status() == 200);
        try {
            co_await client.async_send(get("http://127.0.0.1:1/unreachable"));
        } catch (const fedora::error& e) {
            threw = true;
            CHECK(e.code() == errc::connect_error);
            CHECK(e.diag().url == "http://127.0.0.1:1/unreachable");
            CHECK_FALSE(e.diag().may_have_reached_server);
        }
    });
    CHECK(threw);

    // Callback.
    unsigned status = 0;
    client.async_send(get(url), [&](fedora::error_code ec, http::response r) {
        CHECK(!ec);
        status = r.status();
    });
    ioc.restart();
    ioc.run();
    CHECK(status == 200);

    // Future, with the io_context on another thread.
    ioc.restart();
    auto work = asio::make_work_guard(ioc);
    std::thread t([&] { ioc.run(); });
    auto fut = client.async_send(get(url), fedora::with_diagnostics(asio::use_future));
    CHECK(fut.get().status() == 200);
    auto bad = client.async_send(get("http://127.0.0.1:1/"), fedora::with_diagnostics(asio::use_future));
    CHECK_THROWS_AS(bad.get(), fedora::error);
    work.reset();
    t.join();
}

TEST_CASE("one client used from several threads at once")
{
    auto server = start_echo_server({.threads = 2});
    asio::io_context ioc;
    http::client_params p;
    p.pool.max_connections_per_origin = 6;
    http::client client(ioc.get_executor(), p);
    std::atomic<int> ok{0};
    auto work = asio::make_work_guard(ioc);
    std::vector<std::thread> runners;
    for (int i = 0; i < 3; ++i)
        runners.emplace_back([&] { ioc.run(); });
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t)
        callers.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                auto id = std::to_string(t) + "-" + std::to_string(i);
                auto r = client.async_send(get(server->origin() + "/echo?" + id),
                                           fedora::with_diagnostics(asio::use_future)).get();
                if (echo_of(r)["target"].as_string() == "/echo?" + id)
                    ++ok;
            }
        });
    for (auto& c : callers)
        c.join();
    work.reset();
    for (auto& r : runners)
        r.join();
    CHECK(ok == 400);
    CHECK(server->stats().connections_peak <= 6);
}

TEST_CASE("invalid requests fail before any I/O")
{
    asio::io_context ioc;
    http::client client(ioc.get_executor());
    http::request r;
    r.url = boost::urls::url("ftp://example.org/x");
    CHECK(send_one(ioc, client, r).ec == errc::invalid_argument);
    CHECK_THROWS_AS(http::client(ioc.get_executor(), http::client_params{.pool = {.max_connections_per_origin = 0}}),
                    std::invalid_argument);
}
