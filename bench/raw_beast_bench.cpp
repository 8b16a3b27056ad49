// raw-beast-bench: the baseline. A Boost.Beast C++20 coroutine client written as plainly as
// Beast's own http_client_coro / http_client_coro_ssl examples: C coroutines, each with one
// keep-alive connection (HTTP, or HTTPS with peer and host-name verification), looping
// write request / read response (string_body) / boost::json::parse(body). No pool, no
// deadline per call beyond the example's stream timeout, no typed parse.
//
//   raw-beast-bench --url URL --connections C --requests N [--insecure|--ca-file F]
//                   [--method GET|POST] [--body TEXT] [--header 'N: V']...
// Output: see common.hpp. Bodies over Beast's default 8 MB limit fail (as in the example).
#include "common.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <optional>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

struct shared_state
{
    const bench::options& opt;
    http::request<http::string_body> req;  // copied by each connection
    std::string host, port;
    bool tls = false;
    ssl::context* ctx = nullptr;

    std::size_t warm_left;      // untimed requests still to start
    std::size_t timed_left;     // timed requests still to start
    std::size_t waiting = 0;    // connections done with their warm-up
    std::size_t errors = 0;
    std::uint64_t bytes = 0;
    std::optional<asio::steady_timer> barrier;
    bench::meter meter;
};

// Takes the next request to run; false when there is none left.
bool take(std::size_t& left)
{
    if (left == 0)
        return false;
    --left;
    return true;
}

template <class Stream>
asio::awaitable<bool> exchange(Stream& stream, beast::flat_buffer& buffer, shared_state& s)
{
    http::request<http::string_body> req = s.req;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    co_await http::async_write(stream, req, asio::use_awaitable);

    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, asio::use_awaitable);
    s.bytes += res.body().size();
    if (res.result() != http::status::ok) {
        bench::note_error(s.errors, "HTTP status " + std::to_string(res.result_int()));
        co_return res.keep_alive();
    }
    boost::system::error_code ec;
    auto jv = boost::json::parse(res.body(), ec);
    if (ec)
        bench::note_error(s.errors, "body is not JSON: " + ec.message());
    co_return res.keep_alive();
}

// After its warm-up request each connection waits here until all have warmed up; the last
// one starts the clock.
asio::awaitable<void> barrier(shared_state& s)
{
    if (++s.waiting == s.opt.connections) {
        s.meter.start();
        s.barrier->cancel();
        co_return;
    }
    boost::system::error_code ec;
    co_await s.barrier->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

template <class Stream>
asio::awaitable<void> run_requests(Stream& stream, shared_state& s)
{
    beast::flat_buffer buffer;
    bool warmed = false;
    for (;;) {
        if (!warmed && !take(s.warm_left)) {
            warmed = true;
            co_await barrier(s);
        }
        if (warmed && !take(s.timed_left))
            break;
        if (!co_await exchange(stream, buffer, s)) {
            bench::note_error(s.errors, "the server closed the connection");
            break;
        }
    }
}

asio::awaitable<void> connection(shared_state& s)
{
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto const results = co_await resolver.async_resolve(s.host, s.port, asio::use_awaitable);
    if (!s.tls) {
        beast::tcp_stream stream(ex);
        stream.expires_after(std::chrono::seconds(30));
        co_await stream.async_connect(results, asio::use_awaitable);
        co_await run_requests(stream, s);
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    } else {
        beast::ssl_stream<beast::tcp_stream> stream(ex, *s.ctx);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), s.host.c_str()))
            throw beast::system_error(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        if (!s.opt.insecure)
            stream.set_verify_callback(ssl::host_name_verification(s.host));
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
        co_await beast::get_lowest_layer(stream).async_connect(results, asio::use_awaitable);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
        co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
        co_await run_requests(stream, s);
        beast::error_code ec;
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
    }
}

} // namespace

int main(int argc, char** argv)
{
    auto opt = bench::parse(argc, argv);
    auto url = boost::urls::parse_absolute_uri(opt.url);
    if (!url || (url->scheme() != "http" && url->scheme() != "https"))
        bench::usage(argv[0], "--url must be an absolute http(s) URL");

    asio::io_context ioc(1);
    ssl::context ctx(ssl::context::tls_client);
    shared_state s{.opt = opt, .warm_left = opt.warmup, .timed_left = opt.requests};
    s.tls = url->scheme() == "https";
    s.host = url->host();
    s.port = url->has_port() ? std::string(url->port()) : (s.tls ? "443" : "80");
    if (s.tls) {
        ctx.set_default_verify_paths();
        if (!opt.ca_file.empty())
            ctx.load_verify_file(opt.ca_file);
        ctx.set_verify_mode(opt.insecure ? ssl::verify_none : ssl::verify_peer);
        s.ctx = &ctx;
    }
    s.req.method(opt.method == "POST" ? http::verb::post : http::verb::get);
    s.req.target(url->encoded_target().empty() ? "/" : std::string(url->encoded_target()));
    s.req.version(11);
    s.req.set(http::field::host, url->encoded_host_and_port());
    s.req.set(http::field::user_agent, BOOST_BEAST_VERSION_STRING);
    for (auto& [name, value] : opt.headers)
        s.req.set(name, value);
    if (!opt.body.empty()) {
        if (s.req.find(http::field::content_type) == s.req.end())
            s.req.set(http::field::content_type, "application/x-www-form-urlencoded");
        s.req.body() = opt.body;
    }
    s.req.prepare_payload();
    s.barrier.emplace(ioc, asio::steady_timer::time_point::max());
    if (opt.warmup < opt.connections)
        s.warm_left = opt.connections;  // each connection warms up with one request

    for (std::size_t i = 0; i < opt.connections; ++i)
        asio::co_spawn(ioc, connection(s), [&s](std::exception_ptr e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                bench::note_error(s.errors, x.what());
            }
            // A connection that died before its warm-up ends must not hold the barrier.
            if (s.meter.seconds() == 0 && s.waiting < s.opt.connections)
                asio::co_spawn(s.barrier->get_executor(), barrier(s), asio::detached);
        });
    ioc.run();
    s.meter.stop();
    // Requests never started (their connection died) are errors too.
    s.errors += s.timed_left;
    bench::report("raw-beast", opt, s.meter, opt.requests, s.errors, s.bytes);
    return s.errors ? 1 : 0;
}
