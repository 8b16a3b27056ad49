// FAS dumps read as they stream in, with and without gzip: the typed results are exactly
// those of reading the whole body and then parsing it; gzip is inflated under the body
// limit; broken encodings are typed errors.
#include "support.hpp"

#include <fedora/emulator/fas.hpp>
#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace test_support;
namespace fas = fedora::fas;
namespace emu = fedora::emulator;
using fedora::errc;

namespace {

struct dump_server
{
    std::shared_ptr<emu::server> server;

    dump_server()
    {
        emu::fas_data_params dp;
        dp.people = 3000;
        auto directory = emu::fas_directory::generate(dp);
        server = std::make_shared<emu::server>(emu::server_params{});
        server->mount("/accounts", std::make_shared<emu::fas_application>(directory, emu::fas_app_params{}));
        server->start();
    }

    fas::client_params params(bool gzip) const
    {
        fas::client_params p;
        p.base_url = server->origin() + "/accounts/";
        p.http.accept_gzip = gzip;
        return p;
    }
};

template <class T, class F>
std::pair<fedora::error_code, fas::reply<T>> call(asio::io_context& ioc, F f)
{
    std::pair<fedora::error_code, fas::reply<T>> out;
    f([&](fedora::error_code ec, fas::reply<T> r) {
        out.first = ec;
        out.second = std::move(r);
    });
    ioc.restart();
    ioc.run();
    return out;
}

// The same answer read the plain way: whole body, DOM, then the operation's parse.
template <class Op>
typename Op::result_type parsed_from_dom(asio::io_context& ioc, fas::proxy_client& proxy, const Op& op,
                                         const fas::auth_params& auth)
{
    auto req = op.build();
    auto ec_r = call<boost::json::value>(ioc, [&](auto h) {
        proxy.async_send_request(req.path, req.form, auth, true, std::move(h));
    });
    auto& ec = ec_r.first;  // (clang 14: no structured bindings in doctest macros)
    auto& r = ec_r.second;
    REQUIRE_MESSAGE(!ec, r.diag.message);
    fas::raw_reply raw;
    raw.body = std::move(r.value);
    raw.status = 200;
    typename Op::result_type out;
    Op plain = op;
    plain.streamed.reset();
    REQUIRE(!plain.parse(raw, out));
    return out;
}

} // namespace

TEST_CASE("user_data and people_by_key stream into the same typed results as a whole-body parse")
{
    dump_server s;
    std::uint64_t plain_wire = 0;
    for (bool gzip : {false, true}) {
        CAPTURE(gzip);
        asio::io_context ioc;
        auto params = s.params(gzip);
        std::uint64_t bytes_received = 0;
        params.http.on_exchange = [&](const fedora::http::exchange_event& e) { bytes_received += e.bytes_received; };
        fas::proxy_client proxy(ioc.get_executor(), params);
        const auto admin = fas::auth_params::credentials("admin", "admin");

        auto ec_streamed = call<fas::ops::user_data::result_type>(
            ioc, [&](auto h) { proxy.async_run(fas::ops::user_data{}, admin, std::move(h)); });
        auto& ec = ec_streamed.first;  // (clang 14: no structured bindings in doctest macros)
        auto& streamed = ec_streamed.second;
        REQUIRE_MESSAGE(!ec, streamed.diag.message);
        CHECK(streamed.value.size() > 2900);
        CHECK(!streamed.session_id.empty());
        if (gzip) {
            auto last = s.server->last_request("/accounts/json/fas_client/user_data");
            REQUIRE(last);
            CHECK((*last)[bhttp::field::accept_encoding] == "gzip");
        }
        const auto wire = bytes_received;
        auto dom = parsed_from_dom(ioc, proxy, fas::ops::user_data{}, admin);
        REQUIRE(dom.size() == streamed.value.size());
        for (const auto& [id, e] : dom) {
            auto it = streamed.value.find(id);
            REQUIRE(it != streamed.value.end());
            CHECK(it->second.username == e.username);
            CHECK(it->second.password == e.password);
            CHECK(it->second.human_name == e.human_name);
            CHECK(it->second.ssh_key == e.ssh_key);
            CHECK(it->second.email == e.email);
            CHECK(it->second.alias_enabled == e.alias_enabled);
        }
        // gzip: the dump crossed the wire in far fewer bytes than without.
        CHECK(wire > 100000);
        if (gzip)
            CHECK(wire * 3 < plain_wire);
        else
            plain_wire = wire;

        for (std::string key : {"id", "username", "email"}) {
            CAPTURE(key);
            // Every field for "id"; a few for the others.
            fas::ops::people_by_key op{key, "*", {}};
            if (key != "id")
                op.fields = {"username", "email", "human_name", "bugzilla_email"};
            auto pec_people =
                call<fas::people_map>(ioc, [&](auto h) { proxy.async_run(op, admin, std::move(h)); });
            auto& pec = pec_people.first;
            auto& people = pec_people.second;
            REQUIRE_MESSAGE(!pec, people.diag.message);
            auto expected = parsed_from_dom(ioc, proxy, op, admin);
            REQUIRE(people.value.index() == expected.index());
            // The emulator records each caller's last visit, as FAS does, at most once a
            // second: the caller's `last_seen` may differ between the two answers compared.
            auto without_last_seen = [](const fedora::record& r) {
                boost::json::object o = r.object();
                o.erase("last_seen");
                return o;
            };
            auto compare = [&without_last_seen](const auto& got, const auto& want) {
                REQUIRE(got.size() == want.size());
                CHECK(got.size() > 2900);
                for (const auto& [k, p] : want) {
                    auto it = got.find(k);
                    REQUIRE(it != got.end());
                    CHECK(it->second.id == p.id);
                    CHECK(it->second.username == p.username);
                    CHECK(it->second.email == p.email);
                    CHECK(it->second.human_name == p.human_name);
                    CHECK(it->second.status == p.status);
                    CHECK(it->second.creation == p.creation);
                    CHECK(it->second.privacy == p.privacy);
                    CHECK(it->second.bugzilla_email == p.bugzilla_email);
                    CHECK(without_last_seen(it->second.raw) == without_last_seen(p.raw));
                }
            };
            if (key == "id")
                compare(std::get<fas::people_by_id_map>(people.value), std::get<fas::people_by_id_map>(expected));
            else
                compare(std::get<fas::people_by_text_map>(people.value), std::get<fas::people_by_text_map>(expected));
        }

        // Failures keep their ordinary meaning when the body would have streamed.
        auto aec_denied = call<fas::ops::user_data::result_type>(ioc, [&](auto h) {
            proxy.async_run(fas::ops::user_data{}, fas::auth_params::credentials("admin", "wrong"), std::move(h));
        });
        auto& aec = aec_denied.first;
        CHECK(aec == errc::auth_error);
    }
}

namespace {

// /bomb: 16 MiB of one byte (gzipped by the server to a few KiB). /encoded/NAME: a body that
// claims Content-Encoding NAME but is not. /cut: a gzip stream cut in half.
class encoding_app final : public emu::application
{
public:
    emu::http_response handle(const emu::http_request&, const emu::request_context& ctx) override
    {
        emu::http_response res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, "application/json");
        const std::string& path = ctx.path_in_app;
        if (path == "/bomb") {
            res.body() = "[\"" + std::string(16 << 20, 'a') + "\"]";
        } else if (path.rfind("/encoded/", 0) == 0) {
            res.set(bhttp::field::content_encoding, path.substr(9));
            res.body() = "this is not what the header says";
        } else if (path == "/cut") {
            // A gzip member header and a few deflate bytes, then the end of the body.
            res.set(bhttp::field::content_encoding, "gzip");
            res.body() = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\x56\x4a", 13);
        } else {
            res.body() = "{\"ok\": true, \"pad\": \"" + std::string(4000, 'p') + "\"}";
        }
        res.prepare_payload();
        return res;
    }
};

} // namespace

TEST_CASE("gzip: inflated as it arrives, the body limit applies to the inflated size, bad encodings are errors")
{
    auto server = std::make_shared<emu::server>(emu::server_params{});
    server->mount("/", std::make_shared<encoding_app>());
    server->start();
    asio::io_context ioc;
    fedora::http::client_params cp;
    cp.accept_gzip = true;
    cp.body_limit = 1 << 20;
    fedora::http::client client(ioc.get_executor(), cp);

    auto send = [&](const std::string& path) {
        return run(ioc, [&]() -> asio::awaitable<std::pair<fedora::error_code, fedora::http::response>> {
            auto [ec, r] = co_await client.async_send(get(server->origin() + path), asio::as_tuple(asio::use_awaitable));
            co_return std::pair{ec, std::move(r)};
        });
    };

    auto ok = send("/ok");
    REQUIRE(!ok.first);
    CHECK(ok.second.body().size() > 4000);
    CHECK(boost::json::parse(ok.second.body()).at("ok") == true);
    CHECK(ok.second.message.find(bhttp::field::content_encoding) == ok.second.message.end());

    auto bomb = send("/bomb");
    CHECK(bomb.first == errc::limit_exceeded);

    for (std::string bad : {"/encoded/gzip", "/encoded/br", "/encoded/deflate", "/cut"}) {
        CAPTURE(bad);
        auto r = send(bad);
        CHECK(r.first == errc::protocol_error);
    }
    // Every failure closed its connection; the client still works.
    CHECK(client.stats().origins.at(0).idle <= 1);
    CHECK(!send("/ok").first);

    // A client that did not ask for gzip refuses a gzipped answer rather than pass it on.
    fedora::http::client plain(ioc.get_executor(), {});
    auto r = run(ioc, [&]() -> asio::awaitable<fedora::error_code> {
        auto [ec, resp] =
            co_await plain.async_send(get(server->origin() + "/encoded/gzip"), asio::as_tuple(asio::use_awaitable));
        co_return ec;
    });
    CHECK(r == errc::protocol_error);
}

TEST_CASE("a dump's records are parsed on first read: once, by whichever of several threads reads first")
{
    dump_server s;
    asio::io_context ioc;
    fas::proxy_client proxy(ioc.get_executor(), s.params(false));
    auto ec_people = call<fas::people_map>(ioc, [&](auto h) {
        proxy.async_run(fas::ops::people_by_key{"username", "*", {}}, fas::auth_params::credentials("admin", "admin"),
                        std::move(h));
    });
    REQUIRE_MESSAGE(!ec_people.first, ec_people.second.diag.message);
    const auto& people = std::get<fas::people_by_text_map>(ec_people.second.value);
    REQUIRE(people.size() > 2900);

    // Four threads read every record at once; each sees the same parsed object.
    std::vector<std::vector<const boost::json::object*>> seen(4);
    std::atomic<int> wrong{0};
    std::vector<std::thread> readers;
    for (auto& mine : seen)
        readers.emplace_back([&people, &mine, &wrong] {
            for (const auto& [name, p] : people) {
                auto* v = p.raw.if_contains("username");
                if (!v || !v->is_string() || v->get_string() != name)
                    ++wrong;
                mine.push_back(&p.raw.object());
            }
        });
    for (auto& t : readers)
        t.join();
    CHECK(wrong == 0);
    for (const auto& other : seen)
        CHECK(other == seen.front());
}
