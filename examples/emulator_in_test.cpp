// Using the emulator in your own tests: start fedora::emulator::server in-process on port 0
// (a free port), mount the services your code talks to, point your client at it, and check
// what your code did: the answers, and what the server saw (stats, last request).
// A plain program with assertions; the same lines go into a doctest/GoogleTest case.
#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cassert>
#include <iostream>
#include <thread>

namespace asio = boost::asio;
namespace emu = fedora::emulator;

int main()
{
    // Plain HTTP on a free loopback port; tls = true gives HTTPS with a CA in ca_file().
    emu::server server(emu::server_params{.port = 0});
    auto directory = emu::fas_directory::generate({.people = 50});
    server.mount("/accounts", std::make_shared<emu::fas_application>(directory));
    auto bodhi_db = std::make_shared<emu::bodhi_data>(emu::bodhi_data_params{});
    server.mount("/bodhi", std::make_shared<emu::bodhi2_application>(bodhi_db));
    server.mount("/id", std::make_shared<emu::openid_provider_application>(bodhi_db));
    server.start();

    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread loop([&] { ioc.run(); });
    const auto token = fedora::with_diagnostics(asio::use_future);

    // The code under test would do this: log in and read the caller's own record.
    fedora::fas::proxy_client fas(ioc.get_executor(), {.base_url = server.origin() + "/accounts/"});
    auto login = fas.async_login("jdoe", "jdoe-pass", token).get();
    assert(!login.session_id.empty());
    auto me = fas.async_get_user_info(fedora::fas::auth_params::session(login.session_id), token).get();
    assert(me.value.username == "jdoe");

    // Failures are real too: a wrong password is an auth_error.
    try {
        fas.async_login("jdoe", "wrong", token).get();
        assert(false);
    } catch (const fedora::error& e) {
        assert(e.code() == fedora::errc::auth_error);
    }

    // Faults: make the next request to user/view answer 503 and see the client report it.
    server.set_fault("/accounts/user/view", {.kind = emu::fault_kind::server_error_html, .status = 503, .count = 1});
    try {
        fas.async_get_user_info(fedora::fas::auth_params::session(login.session_id), token).get();
        assert(false);
    } catch (const fedora::error& e) {
        assert(e.code() == fedora::errc::server_error && e.diag().http_status == 503);
    }

    // Bodhi 2 with its OpenID login, on the same server.
    fedora::bodhi::client bodhi(ioc.get_executor(), {.base_url = server.origin() + "/bodhi/",
                                                      .openid_api_url = server.origin() + "/id/api/v1/"});
    auto releases = bodhi.async_releases(fedora::bodhi::auth_params{}, token).get();
    assert(releases.version == fedora::bodhi::server_version::bodhi2 && !releases.value.empty());

    // What the server saw.
    auto stats = server.stats();
    assert(stats.requests_per_path.at("/accounts/login") == 2);
    auto last = server.last_request("/accounts/user/view");
    assert(last && last->method() == boost::beast::http::verb::post);

    work.reset();
    loop.join();
    server.stop();
    std::cout << "emulator_in_test: all checks passed (" << stats.requests_total << " requests)\n";
}
