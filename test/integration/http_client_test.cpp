#include "support.hpp"

#include <doctest/doctest.h>

using namespace test_support;
namespace http = fedora::http;

TEST_CASE("a GET through the pool reaches the server and comes back")
{
    auto server = start_echo_server();
    asio::io_context ioc;
    http::client client(ioc.get_executor());
    auto resp = run(ioc, [&]() -> asio::awaitable<http::response> {
        co_return co_await client.async_send(get(server->origin() + "/echo?x=1"));
    });
    CHECK(resp.status() == 200);
    auto j = boost::json::parse(resp.body()).as_object();
    CHECK(j["target"].as_string() == "/echo?x=1");
    CHECK(j["headers"].as_object()["User-Agent"].as_string() == "fedora-client/0.1.0");
}
