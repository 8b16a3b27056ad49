// A plain program with futures: the event loop runs on its own thread; the main thread
// waits on each call. `with_diagnostics` makes a failed future throw fedora::error.
#include "emulated_fas.hpp"

#include <fedora/fas/account_system.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>
#include <thread>

namespace asio = boost::asio;
namespace fas = fedora::fas;

int main()
{
    fas::client_params params;
    auto emulator = start_emulated_fas(params);
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread loop([&] { ioc.run(); });

    fas::account_system as(ioc.get_executor(), {.client = params, .username = "jdoe", .password = "jdoe-pass"});
    const auto token = fedora::with_diagnostics(asio::use_future);
    auto person = as.async_person_by_username("jdoe", token).get();
    std::cout << "jdoe is " << person.value->human_name << ", session " << as.session_id().substr(0, 8) << "...\n";
    auto theme = as.async_get_config("jdoe", "moin", "theme", token).get();
    std::cout << "moin theme: " << theme.value.value_or("(none)") << "\n";
    try {
        as.async_user_gencert(token).get();
        std::cout << "got a client certificate\n";
    } catch (const fedora::error& e) {
        std::cout << "gencert: " << e.what() << "\n";
    }
    work.reset();
    loop.join();
}
