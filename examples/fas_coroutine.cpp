// A coroutine service: one proxy_client shared by every user; each call carries its user's
// session, and hands back the session the server set.
#include "emulated_fas.hpp"

#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

namespace asio = boost::asio;
namespace fas = fedora::fas;

asio::awaitable<void> serve_one_user(fas::proxy_client& fas, std::string user, std::string password)
{
    try {
        auto login = co_await fas.async_login(user, password);
        auto auth = fas::auth_params::session(login.session_id);
        auto me = co_await fas.async_get_user_info(auth);
        auto groups = co_await fas.async_group_list(auth);
        std::cout << me.value.username << " (" << me.value.email << ") sees " << groups.value.groups.size()
                  << " groups\n";
        co_await fas.async_logout(login.session_id);
    } catch (const fedora::error& e) {
        std::cout << user << ": " << e.what() << "\n";  // code + diagnostics
    }
}

int main()
{
    fas::client_params params;
    auto emulator = start_emulated_fas(params);
    asio::io_context ioc;
    fas::proxy_client fas(ioc.get_executor(), params);
    asio::co_spawn(ioc, serve_one_user(fas, "jdoe", "jdoe-pass"), asio::detached);
    asio::co_spawn(ioc, serve_one_user(fas, "admin", "admin"), asio::detached);
    asio::co_spawn(ioc, serve_one_user(fas, "jdoe", "wrong"), asio::detached);
    ioc.run();
}
