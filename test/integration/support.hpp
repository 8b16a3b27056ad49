// Shared pieces of the integration tests: an echo application for transport tests and a
// runner that drives a coroutine to completion on an io_context.
#pragma once

#include <fedora/emulator/server.hpp>
#include <fedora/http/client.hpp>
#include <fedora/http/encoding.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <boost/json.hpp>

#include <chrono>
#include <future>
#include <string>

namespace test_support {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

// /echo: the request as JSON. /status/N: that status. /redirect?to=URL&code=N: a redirect.
// /loop: redirects to itself.
// /bytes/N: N bytes of body. /header/N: a header of N bytes. /headers: a 200 with Set-Cookie
// twice, among other fields.
class echo_app final : public fedora::emulator::application
{
public:
    fedora::emulator::http_response handle(const fedora::emulator::http_request& req,
                                           const fedora::emulator::request_context& ctx) override
    {
        fedora::emulator::http_response res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, "application/json");
        const std::string& path = ctx.path_in_app;
        if (path.rfind("/status/", 0) == 0) {
            res.result(static_cast<unsigned>(std::stoul(path.substr(8))));
            res.body() = "{\"status\":" + path.substr(8) + "}";
        } else if (path == "/redirect") {
            auto q = fedora::http::form::decode(ctx.query);
            res.result(static_cast<unsigned>(std::stoul(q.find("code") ? *q.find("code") : "302")));
            res.set(bhttp::field::location, q.find("to") ? *q.find("to") : "/echo");
        } else if (path == "/loop") {
            res.result(bhttp::status::found);
            res.set(bhttp::field::location, "/loop");
        } else if (path.rfind("/bytes/", 0) == 0) {
            res.body() = std::string(std::stoul(path.substr(7)), 'b');
        } else if (path == "/headers") {
            res.set(bhttp::field::cache_control, "no-store");
            res.insert(bhttp::field::set_cookie, "a=1; Path=/");
            res.set("X-Custom", "custom");
            res.insert(bhttp::field::set_cookie, "b=2; Path=/");
            res.set(bhttp::field::retry_after, "7");
            res.set(bhttp::field::location, "/elsewhere");
            res.set(bhttp::field::content_encoding, "identity");
            res.body() = "{}";
        } else if (path.rfind("/header/", 0) == 0) {
            res.set("X-Big", std::string(std::stoul(path.substr(8)), 'h'));
        } else {
            boost::json::object o;
            o["method"] = std::string(req.method_string());
            o["target"] = std::string(req.target());
            o["body"] = req.body();
            boost::json::object headers;
            for (const auto& f : req)
                headers[std::string(f.name_string())] = std::string(f.value());
            o["headers"] = std::move(headers);
            res.body() = boost::json::serialize(o);
        }
        res.prepare_payload();
        return res;
    }
};

// Runs `make()` (returning an asio::awaitable<T>) on ioc until it completes.
template <class Make>
auto run(asio::io_context& ioc, Make make)
{
    auto fut = asio::co_spawn(ioc, make(), asio::use_future);
    ioc.restart();
    ioc.run();
    return fut.get();
}

inline std::shared_ptr<fedora::emulator::server> start_echo_server(fedora::emulator::server_params p = {})
{
    auto s = std::make_shared<fedora::emulator::server>(std::move(p));
    s->mount("/", std::make_shared<echo_app>());
    s->start();
    return s;
}

inline fedora::http::request get(const std::string& url)
{
    fedora::http::request r;
    r.method = bhttp::verb::get;
    r.url = boost::urls::url(url);
    r.safe_to_repeat = true;
    return r;
}

} // namespace test_support
