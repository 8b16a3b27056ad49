// fedora: the command-line client. Parses the line (args.cpp), reads the identity from the
// environment or a prompt that does not echo, optionally starts the embedded emulator,
// runs one FAS or Bodhi call through one transport, prints the result, and exits with the
// code of the error kind (see `fedora --help`).
#include "runtime.hpp"
#include "to_json.hpp"

#include <fedora/http/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <termios.h>
#include <unistd.h>

namespace asio = boost::asio;

namespace fedora::cli {

// ---- identity ---------------------------------------------------------------------------------

fas::auth_params identity::fas_auth() const
{
    if (!session_id.empty())
        return fas::auth_params::session(session_id);
    return fas_credentials();
}

fas::auth_params identity::fas_credentials() const
{
    return fas::auth_params::credentials(username, password);
}

bodhi::auth_params identity::bodhi_auth() const
{
    bodhi::auth_params a;
    a.username = username;
    a.password = password;
    if (bodhi_session)
        a.session = *bodhi_session;
    return a;
}

// ---- the embedded emulator --------------------------------------------------------------------

embedded_emulator embedded_emulator::start(std::size_t people, unsigned threads)
{
    embedded_emulator e;
    emulator::fas_data_params dp;
    dp.people = people;
    e.directory = emulator::fas_directory::generate(dp);
    // A fixed clock makes the Bodhi data (aliases, dates) the same on every run.
    emulator::bodhi_data_params bp;
    bp.start_time = 1442318400;  // 2015-09-15 12:00:00 UTC, when Bodhi 1 and 2 both ran
    e.bodhi = std::make_shared<emulator::bodhi_data>(bp);
    emulator::server_params sp;
    sp.tls = true;
    sp.threads = threads;
    sp.record_requests = false;
    e.server = std::make_unique<emulator::server>(sp);
    e.server->mount("/accounts", std::make_shared<emulator::fas_application>(e.directory));
    e.server->mount("/updates", std::make_shared<emulator::bodhi1_application>(e.bodhi));
    emulator::bodhi2_params b2;
    b2.openid_endpoint = "/id/openid/";
    e.server->mount("/bodhi2", std::make_shared<emulator::bodhi2_application>(e.bodhi, b2));
    e.server->mount("/id", std::make_shared<emulator::openid_provider_application>(e.bodhi));
    e.server->start();
    return e;
}

namespace {

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// Reads one line from the terminal on stdin; echo off for secrets. The terminal settings
// are restored even when reading fails.
std::string prompt(const char* text, bool secret)
{
    std::fprintf(stderr, "%s", text);
    std::fflush(stderr);
    termios saved{};
    const bool restore = secret && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (restore) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    std::getline(std::cin, line);
    if (restore)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

struct missing_credentials : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

identity read_identity(const invocation& inv)
{
    identity who;
    const auto& c = *inv.command;
    const bool is_bodhi = c.service == "bodhi";
    who.username = inv.global.user.empty() ? env("FEDORA_USERNAME") : inv.global.user;
    who.password = env("FEDORA_PASSWORD");
    if (!is_bodhi)
        who.session_id = env("FEDORA_SESSION_ID");
    else if (auto s = env("FEDORA_BODHI_SESSION"); !s.empty())
        who.bodhi_session = session_from_text(s);

    // Commands that are about a session need one; those about a password need one.
    const bool wants_session = !is_bodhi && (c.name == "logout" || c.name == "refresh-session" ||
                                             c.name == "verify-session");
    const bool wants_password = c.name == "login" || c.name == "verify-password";
    if (wants_session) {
        if (who.session_id.empty())
            throw missing_credentials("'fedora fas " + std::string(c.name) + "' needs FEDORA_SESSION_ID");
        return who;
    }
    if (is_bodhi && c.name == "logout") {
        if (!who.bodhi_session)
            throw missing_credentials("'fedora bodhi logout' needs FEDORA_BODHI_SESSION");
        return who;
    }
    const bool anonymous_comment = is_bodhi && c.name == "comment" && inv.has("anonymous-email");
    const bool has_session = is_bodhi ? who.bodhi_session.has_value() : !who.session_id.empty();
    const bool required = (c.auth == auth_need::required || (is_bodhi && inv.has("mine")) ||
                           (is_bodhi && c.name == "comment")) &&
                          !anonymous_comment;
    if (!required || (has_session && !wants_password))
        return who;
    // Credentials are needed: prompt for what is missing, only on a terminal.
    const bool tty = isatty(STDIN_FILENO) == 1;
    if (who.username.empty() && tty)
        who.username = prompt("Username: ", false);
    if (who.password.empty() && !who.username.empty() && tty)
        who.password = prompt(("Password for " + who.username + ": ").c_str(), true);
    if (who.username.empty() || who.password.empty())
        throw missing_credentials("this command needs credentials: set FEDORA_USERNAME and FEDORA_PASSWORD" +
                                  std::string(is_bodhi ? " (or FEDORA_BODHI_SESSION)" : " (or FEDORA_SESSION_ID)") +
                                  ", or run it from a terminal to be asked");
    return who;
}

// Server text is untrusted: control characters become '?', so it cannot drive the terminal.
std::string printable(std::string_view s)
{
    std::string out;
    for (unsigned char c : s)
        out.push_back(c < 0x20 && c != '\n' ? '?' : static_cast<char>(c));
    return out;
}

void report_error(error_code ec, const diagnostics& d)
{
    std::string line = "fedora: " + ec.message();
    if (!d.message.empty() && d.message != ec.message())
        line += ": " + printable(d.message);
    if (!d.app_error_name.empty())
        line += " [" + printable(d.app_error_name) + "]";
    std::fprintf(stderr, "%s\n", line.c_str());
    if (d.http_status || !d.url.empty())
        std::fprintf(stderr, "fedora:   %s%s%s\n", d.http_status ? ("HTTP " + std::to_string(d.http_status)).c_str() : "",
                     d.http_status && !d.url.empty() ? " from " : "", d.url.c_str());
    if (d.cause && d.cause != ec)
        std::fprintf(stderr, "fedora:   cause: %s\n", d.cause.message().c_str());
}

// With --emulator, a --url that is a path names one of the emulator's services.
std::string resolve_url(const invocation& inv, const std::string& origin, std::string_view emulator_default,
                        std::string_view real_default)
{
    const std::string& url = inv.global.url;
    if (!origin.empty()) {
        if (url.empty())
            return origin + std::string(emulator_default);
        if (url.starts_with("/"))
            return origin + url;
        return url;
    }
    return url.empty() ? std::string(real_default) : url;
}

int run(const invocation& inv)
{
    if (inv.version) {
        std::printf("fedora (fedora-client) %s\n", FEDORA_CLIENT_VERSION);
        return exit_ok;
    }
    if (inv.help || !inv.command) {
        if (inv.command)
            std::fputs(command_help(*inv.command).c_str(), stdout);
        else if (!inv.service.empty())
            std::fputs(service_help(inv.service).c_str(), stdout);
        else
            std::fputs(top_level_help().c_str(), stdout);
        return exit_ok;
    }
    if (inv.command->name == "demo")
        return run_demo(inv);

    identity who;
    try {
        who = read_identity(inv);
    } catch (const missing_credentials& e) {
        std::fprintf(stderr, "fedora: %s\n", e.what());
        return exit_auth;
    }

    std::optional<embedded_emulator> emu;
    if (inv.global.emulator)
        emu = embedded_emulator::start(inv.global.emulator_people);
    const std::string origin = emu ? emu->origin() : std::string();

    asio::io_context ioc;
    http::client_params hp;
    hp.tls.insecure = inv.global.insecure;
    hp.tls.ca_file = emu ? emu->ca_file() : inv.global.ca_file;
    if (inv.global.timeout)
        hp.default_timeout = *inv.global.timeout;
    context ctx{inv, std::make_shared<http::client>(ioc.get_executor(), hp), {}, {}, std::move(who)};
    ctx.fas.base_url = resolve_url(inv, origin, "/accounts/", "https://admin.fedoraproject.org/accounts/");
    ctx.fas.http = hp;
    ctx.bodhi.base_url = resolve_url(inv, origin, "/bodhi2/", "https://bodhi.fedoraproject.org/");
    ctx.bodhi.http = hp;
    if (!inv.global.openid_url.empty())
        ctx.bodhi.openid_api_url = inv.global.openid_url;
    else if (emu)
        ctx.bodhi.openid_api_url = origin + "/id/api/v1/";
    ctx.progress = !inv.global.quiet && isatty(STDERR_FILENO) == 1;

    auto fut = asio::co_spawn(ioc, inv.command->service == "fas" ? run_fas(ctx) : run_bodhi(ctx), asio::use_future);
    ioc.run();
    boost::json::value out;
    try {
        out = fut.get();
    } catch (const fedora::error& e) {
        report_error(e.code(), e.diag());
        return exit_code_for(e.code());
    }
    if (!out.is_null()) {
        std::string text = render(out, inv.global.format, inv.command->table_columns);
        std::fwrite(text.data(), 1, text.size(), stdout);
    }
    return ctx.exit;
}

} // namespace
} // namespace fedora::cli

int main(int argc, char** argv)
{
    using namespace fedora::cli;
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string_view> args(argv + 1, argv + argc);
    try {
        invocation inv = parse_command_line(args);
        int code = run(inv);
        if (std::fflush(stdout) != 0) {
            std::perror("fedora: stdout");
            return exit_failure;
        }
        return code;
    } catch (const usage_error& e) {
        std::fprintf(stderr, "fedora: %s\n", e.what());
        return exit_usage;
    } catch (const not_found& e) {
        std::fprintf(stderr, "fedora: %s\n", e.what());
        return exit_not_found;
    } catch (const fedora::error& e) {
        std::fprintf(stderr, "fedora: %s\n", e.what());
        return exit_code_for(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fedora: %s\n", e.what());
        return exit_failure;
    }
}
