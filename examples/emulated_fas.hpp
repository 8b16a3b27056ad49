// For the examples: a FAS2 emulator in-process, so that they run anywhere. Point
// fas::client_params::base_url at a real server instead and drop this.
#pragma once

#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/client_base.hpp>

#include <memory>

inline std::unique_ptr<fedora::emulator::server> start_emulated_fas(fedora::fas::client_params& params)
{
    auto server = std::make_unique<fedora::emulator::server>(fedora::emulator::server_params{.tls = true});
    server->mount("/accounts", std::make_shared<fedora::emulator::fas_application>(
                                   fedora::emulator::fas_directory::generate({})));
    server->start();
    params.base_url = server->origin() + "/accounts/";
    params.http.tls.ca_file = server->ca_file();
    return server;
}
