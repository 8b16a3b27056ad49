// What a running `fedora` command has: the parsed command line, one transport shared by
// every client, the FAS and Bodhi parameters, the identity, and where the output goes.
#pragma once

#include "args.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/client_base.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <string>

namespace fedora::cli {

// Who the command acts as: read from the environment (or a prompt) before any I/O.
struct identity
{
    std::string username;
    std::string password;
    std::string session_id;             // FEDORA_SESSION_ID (FAS)
    std::optional<bodhi::session> bodhi_session;  // FEDORA_BODHI_SESSION

    fas::auth_params fas_auth() const;           // the session if any, else the credentials
    fas::auth_params fas_credentials() const;    // the credentials only
    bodhi::auth_params bodhi_auth() const;
};

struct context
{
    const invocation& inv;
    std::shared_ptr<http::client> transport;
    fas::client_params fas;
    bodhi::client_params bodhi;
    identity who;
    bool progress = false;              // stderr is a terminal and not --quiet
    int exit = exit_ok;                 // set by commands that answer with a verdict (verify-*)
};

// The emulator in this process: FAS2 at /accounts, Bodhi 1 at /updates, Bodhi 2 at
// /bodhi2, OpenID at /id, over HTTPS with a CA made at start-up (as fedora-emulator mounts
// them).
struct embedded_emulator
{
    std::shared_ptr<emulator::fas_directory> directory;
    std::shared_ptr<emulator::bodhi_data> bodhi;
    std::unique_ptr<emulator::server> server;

    static embedded_emulator start(std::size_t people, unsigned threads = 1);
    std::string origin() const { return server->origin(); }
    std::string ca_file() const { return server->ca_file(); }
};

// Run one command; the JSON value is the output (null: nothing to print).
boost::asio::awaitable<boost::json::value> run_fas(context& ctx);
boost::asio::awaitable<boost::json::value> run_bodhi(context& ctx);

// `fedora demo`: returns the process exit code.
int run_demo(const invocation& inv);

// "no such person 'x'" and the like.
[[noreturn]] void throw_not_found(const std::string& what);

} // namespace fedora::cli
