// Fetches a URL three ways with one fedora::http::client: from a coroutine, from a
// callback and through a future.
//
//   fetch [URL] [--insecure | --ca-file FILE]
//
// Without a URL it starts the embedded emulator (HTTPS, its own CA) and fetches from it.
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/http/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>
#include <thread>

namespace asio = boost::asio;
namespace http = fedora::http;

int main(int argc, char** argv)
{
    std::string url;
    http::client_params params;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--insecure")
            params.tls.insecure = true;
        else if (a == "--ca-file" && i + 1 < argc)
            params.tls.ca_file = argv[++i];
        else
            url = a;
    }

    std::unique_ptr<fedora::emulator::server> emulator;
    if (url.empty()) {
        fedora::emulator::server_params sp;
        sp.tls = true;
        emulator = std::make_unique<fedora::emulator::server>(sp);
        emulator->mount("/accounts", std::make_shared<fedora::emulator::fas_application>(
                                         fedora::emulator::fas_directory::generate({})));
        emulator->start();
        params.tls.ca_file = emulator->ca_file();
        url = emulator->origin() + "/accounts/";
        std::cout << "embedded emulator at " << emulator->origin() << " (CA " << params.tls.ca_file << ")\n";
    }

    asio::io_context ioc;
    http::client client(ioc.get_executor(), params);
    http::request req;
    req.url = boost::urls::url(url);
    req.headers.set(boost::beast::http::field::accept, "application/json");
    req.safe_to_repeat = true;

    try {
        // 1. A coroutine: the default token throws fedora::error on failure.
        asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
            http::response r = co_await client.async_send(req);
            std::cout << "coroutine: HTTP " << r.status() << ", " << r.body().size() << " bytes\n";
        }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
        ioc.run();

        // 2. A callback: error_code plus the diagnostics in the response.
        client.async_send(req, [](fedora::error_code ec, http::response r) {
            if (ec)
                std::cout << "callback: " << ec.message() << ": " << r.diag.message << "\n";
            else
                std::cout << "callback: HTTP " << r.status() << "\n";
        });
        ioc.restart();
        ioc.run();

        // 3. A future, with the event loop on another thread.
        ioc.restart();
        auto work = asio::make_work_guard(ioc);
        std::thread loop([&] { ioc.run(); });
        auto fut = client.async_send(req, fedora::with_diagnostics(asio::use_future));
        std::cout << "future: HTTP " << fut.get().status() << "\n";
        work.reset();
        loop.join();
    } catch (const fedora::error& e) {
        std::cerr << "failed: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
