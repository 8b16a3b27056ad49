// A program built against an installed fedora-client (see .ci/consumer-test): it starts the
// emulator in-process, looks one person up over HTTPS and prints them.
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/account_system.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>

namespace asio = boost::asio;
namespace fas = fedora::fas;
namespace emu = fedora::emulator;

asio::awaitable<std::string> lookup(fas::account_system& as)
{
    auto r = co_await as.async_person_by_username("jdoe");
    co_return r.value ? r.value->human_name + " <" + r.value->email + ">" : std::string("nobody");
}

int main()
{
    emu::server server(emu::server_params{.tls = true});
    server.mount("/accounts", std::make_shared<emu::fas_application>(emu::fas_directory::generate({})));
    server.start();

    asio::io_context ioc;
    fas::account_params p;
    p.client.base_url = server.origin() + "/accounts/";
    p.client.http.tls.ca_file = server.ca_file();
    p.username = "jdoe";
    p.password = "jdoe-pass";
    fas::account_system as(ioc.get_executor(), p);
    auto f = asio::co_spawn(ioc, lookup(as), asio::use_future);
    ioc.run();
    try {
        std::cout << "consumer: jdoe is " << f.get() << "\n";
    } catch (const fedora::error& e) {
        std::cerr << "consumer: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
