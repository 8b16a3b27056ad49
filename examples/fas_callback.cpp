// A callback-driven event-loop daemon: account_system keeps one identity's session; the
// completion handler gets an error_code and the reply (with its diagnostics).
#include "emulated_fas.hpp"

#include <fedora/fas/account_system.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>

namespace fas = fedora::fas;

int main()
{
    fas::client_params params;
    auto emulator = start_emulated_fas(params);
    boost::asio::io_context ioc;
    fas::account_system as(ioc.get_executor(), {.client = params, .username = "admin", .password = "admin"});

    as.async_people_by_key("username", "j*", {"id", "email"},
                           [](fedora::error_code ec, fas::reply<fas::people_map> r) {
                               if (ec) {
                                   std::cout << "failed: " << ec.message() << ": " << r.diag.message << "\n";
                                   return;
                               }
                               for (auto& [name, person] : std::get<fas::people_by_text_map>(r.value))
                                   std::cout << name << " <" << person.email << ">\n";
                           });
    as.async_group_by_name("no-such-group", [](fedora::error_code ec, fas::reply<fas::group> r) {
        std::cout << "no-such-group: " << ec.message() << " (" << r.diag.app_error_name << ")\n";
    });
    ioc.run();
}
