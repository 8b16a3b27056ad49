// fedora-emulator: the FAS2, Bodhi 1, Bodhi 2 and OpenID emulators in one process, for
// people and programs outside the C++ test suite (python-fedora, curl, benchmarks, demos).
//
// Protocol with a parent process: one line per listener on stdout, then "ready", then
// nothing more; the process serves until SIGINT or SIGTERM and exits 0. Bad flags exit 2,
// failures to start (port taken, unreadable fixture) exit 1.
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/system/system_error.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pthread.h>

namespace emu = fedora::emulator;

namespace {

constexpr std::string_view fas_mount = "/accounts";
constexpr std::string_view bodhi1_mount = "/updates";
constexpr std::string_view bodhi2_mount = "/bodhi2";
constexpr std::string_view openid_mount = "/id";

constexpr std::string_view usage_text = R"(usage: fedora-emulator [options]

Serves emulated Fedora services on one origin per listener:
  FAS2 at /accounts/, Bodhi 1 at /updates/, Bodhi 2 at /bodhi2/, OpenID provider at /id/
Prints one line per listener, then "ready", and runs until SIGINT or SIGTERM.
The fixed accounts and their passwords are listed in <fedora/emulator/fas.hpp> and
<fedora/emulator/bodhi.hpp>. Everyone who can connect can log in with them, so keep the
default loopback address unless you mean otherwise.

options:
  --host ADDR              address to listen on (default 127.0.0.1)
  --port N                 port (default 0: any free port). With both --http and --https,
                           HTTP gets N and HTTPS N+1
  --http                   serve plain HTTP (the default when neither is given)
  --https                  serve HTTPS with a certificate from a CA made at start-up;
                           the CA's PEM file is printed
  --tls-host NAME          host name in the certificate and the HTTPS URLs (default localhost)
  --cert-dir DIR           where ca.pem is written (default: a temporary directory removed
                           at exit)
  --people N               generated FAS accounts besides the fixed ones (default 200)
  --groups N               generated FAS groups besides the fixed ones (default 40)
  --seed N                 seed of the FAS and Bodhi data generators
  --fixture FILE           load the FAS directory from a JSON fixture instead of generating
                           it (see <fedora/emulator/fas.hpp>); excludes --people/--groups
  --threads N              worker threads per listener (default 1)
  --session-timeout SECS   FAS tg-visit idle timeout (default 1200)
  --fault PREFIX:KIND[:PARAM]
                           inject a fault for request paths starting with PREFIX (may be
                           empty: all paths); repeatable, the first matching one applies.
                           KIND[:PARAM] is one of
                             latency:MS              answer after MS milliseconds
                             stall                   never answer
                             close_after_bytes:N     send N bytes of the answer, then close
                             malformed_json          200 with half a JSON body
                             server_error_html[:STATUS]   HTML error page (default 503)
                             wrong_content_length    Content-Length larger than the body
                             broken_chunked          invalid chunk-size line
                             trickle:MS              one byte every MS milliseconds
                             redirect_other_origin:URL    302 to URL
                             close_before_response   close without answering
                             status_with_retry_after:STATUS[:SECONDS]
  --no-record              do not keep the last request per path (for benchmarks)
  --help                   this text
)";

struct options
{
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    bool http = false;
    bool https = false;
    std::string tls_host = "localhost";
    std::string cert_dir;
    std::optional<std::size_t> people;
    std::optional<std::size_t> groups;
    std::optional<std::uint64_t> seed;
    std::string fixture;
    unsigned threads = 1;
    std::optional<std::chrono::seconds> session_timeout;
    std::vector<std::pair<std::string, emu::fault>> faults;
    bool record = true;
};

// Thrown for anything the user typed wrong; main() turns it into exit code 2.
struct usage_error : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

template <class T>
T parse_number(std::string_view flag, std::string_view text, T min, T max)
{
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if ((ec != std::errc{} && ec != std::errc::result_out_of_range) ||
        end != text.data() + text.size() || text.empty())
        throw usage_error(std::string(flag) + ": '" + std::string(text) + "' is not a number");
    if (ec == std::errc::result_out_of_range || value < min || value > max)
        throw usage_error(std::string(flag) + ": " + std::string(text) + " is out of range (" +
                          std::to_string(min) + ".." + std::to_string(max) + ")");
    return value;
}

unsigned parse_status(std::string_view text)
{
    return parse_number<unsigned>("--fault status", text, 100, 599);
}

std::pair<std::string, emu::fault> parse_fault(std::string_view spec)
{
    // Split at the first two colons only: a redirect URL has colons of its own.
    auto colon = spec.find(':');
    if (colon == std::string_view::npos)
        throw usage_error("--fault: '" + std::string(spec) + "' is not PREFIX:KIND[:PARAM]");
    std::string prefix(spec.substr(0, colon));
    std::string_view rest = spec.substr(colon + 1);
    auto colon2 = rest.find(':');
    std::string_view kind = rest.substr(0, colon2);
    std::optional<std::string_view> param;
    if (colon2 != std::string_view::npos)
        param = rest.substr(colon2 + 1);

    auto need = [&](std::string_view what) -> std::string_view {
        if (!param || param->empty())
            throw usage_error("--fault: " + std::string(kind) + " needs :" + std::string(what));
        return *param;
    };
    auto none = [&] {
        if (param)
            throw usage_error("--fault: " + std::string(kind) + " takes no parameter");
    };
    constexpr auto max_ms = std::numeric_limits<std::int64_t>::max() / 1000;

    emu::fault f;
    if (kind == "latency" || kind == "trickle") {
        f.kind = kind == "latency" ? emu::fault_kind::latency : emu::fault_kind::trickle;
        f.delay = std::chrono::milliseconds(
            parse_number<std::int64_t>("--fault milliseconds", need("MS"), 0, max_ms));
    } else if (kind == "stall") {
        none();
        f.kind = emu::fault_kind::stall;
    } else if (kind == "close_after_bytes") {
        f.kind = emu::fault_kind::close_after_bytes;
        f.bytes = parse_number<std::size_t>("--fault bytes", need("N"), 0,
                                            std::numeric_limits<std::size_t>::max());
    } else if (kind == "malformed_json") {
        none();
        f.kind = emu::fault_kind::malformed_json;
    } else if (kind == "server_error_html") {
        f.kind = emu::fault_kind::server_error_html;
        if (param)
            f.status = parse_status(*param);
    } else if (kind == "wrong_content_length") {
        none();
        f.kind = emu::fault_kind::wrong_content_length;
    } else if (kind == "broken_chunked") {
        none();
        f.kind = emu::fault_kind::broken_chunked;
    } else if (kind == "redirect_other_origin") {
        f.kind = emu::fault_kind::redirect_other_origin;
        f.location = std::string(need("URL"));
    } else if (kind == "close_before_response") {
        none();
        f.kind = emu::fault_kind::close_before_response;
    } else if (kind == "status_with_retry_after") {
        f.kind = emu::fault_kind::status_with_retry_after;
        std::string_view p = need("STATUS");
        auto colon3 = p.find(':');
        f.status = parse_status(p.substr(0, colon3));
        if (colon3 != std::string_view::npos)
            f.retry_after_seconds = parse_number<unsigned>("--fault seconds", p.substr(colon3 + 1), 0,
                                                           std::numeric_limits<unsigned>::max());
    } else {
        throw usage_error("--fault: unknown kind '" + std::string(kind) + "' (see --help)");
    }
    return {std::move(prefix), std::move(f)};
}

// Returns nullopt when --help was asked for.
std::optional<options> parse_options(int argc, char** argv)
{
    options o;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        std::optional<std::string_view> inline_value;
        if (arg.starts_with("--")) {
            if (auto eq = arg.find('='); eq != std::string_view::npos) {
                inline_value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
            }
        }
        auto value = [&]() -> std::string_view {
            if (inline_value)
                return *inline_value;
            if (i + 1 >= args.size())
                throw usage_error(std::string(arg) + " needs a value");
            return args[++i];
        };
        auto flag = [&] {
            if (inline_value)
                throw usage_error(std::string(arg) + " takes no value");
        };

        if (arg == "--help" || arg == "-h") {
            flag();
            return std::nullopt;
        } else if (arg == "--host") {
            o.host = std::string(value());
            boost::system::error_code ec;
            boost::asio::ip::make_address(o.host, ec);
            if (ec)
                throw usage_error("--host: '" + o.host + "' is not an IP address");
        } else if (arg == "--port") {
            o.port = parse_number<std::uint16_t>(arg, value(), 0, 65535);
        } else if (arg == "--http") {
            flag();
            o.http = true;
        } else if (arg == "--https") {
            flag();
            o.https = true;
        } else if (arg == "--tls-host") {
            o.tls_host = std::string(value());
            if (o.tls_host.empty())
                throw usage_error("--tls-host needs a non-empty name");
        } else if (arg == "--cert-dir") {
            o.cert_dir = std::string(value());
            if (o.cert_dir.empty())
                throw usage_error("--cert-dir needs a non-empty path");
        } else if (arg == "--people") {
            o.people = parse_number<std::size_t>(arg, value(), 0, 10'000'000);
        } else if (arg == "--groups") {
            o.groups = parse_number<std::size_t>(arg, value(), 0, 1'000'000);
        } else if (arg == "--seed") {
            o.seed = parse_number<std::uint64_t>(arg, value(), 0, std::numeric_limits<std::uint64_t>::max());
        } else if (arg == "--fixture") {
            o.fixture = std::string(value());
            if (o.fixture.empty())
                throw usage_error("--fixture needs a file name");
        } else if (arg == "--threads") {
            o.threads = parse_number<unsigned>(arg, value(), 1, 256);
        } else if (arg == "--session-timeout") {
            o.session_timeout = std::chrono::seconds(
                parse_number<std::int64_t>(arg, value(), 1, std::int64_t{1} << 40));
        } else if (arg == "--fault") {
            o.faults.push_back(parse_fault(value()));
        } else if (arg == "--no-record") {
            flag();
            o.record = false;
        } else {
            throw usage_error("unknown argument '" + std::string(args[i]) + "' (see --help)");
        }
    }
    if (!o.http && !o.https)
        o.http = true;
    if (!o.fixture.empty() && (o.people || o.groups))
        throw usage_error("--fixture replaces the generated directory: drop --people/--groups");
    if (o.http && o.https && o.port == 65535)
        throw usage_error("--port: with --http and --https the HTTPS port is N+1, so N must be < 65535");
    if (!o.https && !o.cert_dir.empty())
        throw usage_error("--cert-dir only applies with --https");
    return o;
}

bool is_loopback(const std::string& host)
{
    return boost::asio::ip::make_address(host).is_loopback();
}

int run(const options& o)
{
    std::shared_ptr<emu::fas_directory> directory;
    if (!o.fixture.empty()) {
        try {
            directory = emu::fas_directory::from_file(o.fixture);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "fedora-emulator: cannot load fixture %s: %s\n", o.fixture.c_str(), e.what());
            return 1;
        }
    } else {
        emu::fas_data_params fp;
        if (o.seed)
            fp.seed = *o.seed;
        if (o.people)
            fp.people = *o.people;
        if (o.groups)
            fp.groups = *o.groups;
        directory = emu::fas_directory::generate(fp);
    }

    emu::fas_app_params fas_params;
    fas_params.mount_prefix = std::string(fas_mount);
    if (o.session_timeout)
        fas_params.session_timeout = *o.session_timeout;
    auto fas = std::make_shared<emu::fas_application>(directory, fas_params);

    emu::bodhi_data_params bodhi_params;
    if (o.seed)
        bodhi_params.seed = *o.seed;
    auto bodhi = std::make_shared<emu::bodhi_data>(bodhi_params);
    auto bodhi1 = std::make_shared<emu::bodhi1_application>(bodhi);
    emu::bodhi2_params b2;
    // Resolved against each request's origin, so one value serves the HTTP and the HTTPS
    // listener alike; it must follow the provider's mount point.
    b2.openid_endpoint = std::string(openid_mount) + "/openid/";
    auto bodhi2 = std::make_shared<emu::bodhi2_application>(bodhi, b2);
    auto openid = std::make_shared<emu::openid_provider_application>(bodhi);

    if (!o.cert_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(o.cert_dir, ec);
        if (ec) {
            std::fprintf(stderr, "fedora-emulator: cannot create %s: %s\n", o.cert_dir.c_str(),
                         ec.message().c_str());
            return 1;
        }
    }

    // Both listeners share the applications, so a session made over HTTP is also valid
    // over HTTPS, as it would be behind one real FAS.
    std::vector<std::unique_ptr<emu::server>> servers;
    std::vector<std::uint16_t> ports;
    auto add_server = [&](bool tls, std::uint16_t port) {
        emu::server_params p;
        p.host = o.host;
        p.port = port;
        p.tls = tls;
        p.tls_host_name = o.tls_host;
        p.cert_dir = tls ? o.cert_dir : std::string();
        p.threads = o.threads;
        p.record_requests = o.record;
        auto s = std::make_unique<emu::server>(p);
        s->mount(std::string(fas_mount), fas);
        s->mount(std::string(bodhi1_mount), bodhi1);
        s->mount(std::string(bodhi2_mount), bodhi2);
        s->mount(std::string(openid_mount), openid);
        for (const auto& [prefix, f] : o.faults)
            s->set_fault(prefix, f);
        servers.push_back(std::move(s));
        ports.push_back(port);
    };
    if (o.http)
        add_server(false, o.port);
    if (o.https)
        add_server(true, o.http && o.port != 0 ? static_cast<std::uint16_t>(o.port + 1) : o.port);

    // Block the stop signals before the worker threads exist: they inherit the mask, so
    // the signals can only be taken by the sigwait() below, never by a worker.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    for (std::size_t i = 0; i < servers.size(); ++i) {
        try {
            servers[i]->start();
        } catch (const boost::system::system_error& e) {
            std::fprintf(stderr, "fedora-emulator: cannot listen on %s port %u: %s\n", o.host.c_str(),
                         unsigned{ports[i]}, e.code().message().c_str());
            return 1;
        }
    }
    if (!is_loopback(o.host))
        std::fprintf(stderr, "fedora-emulator: warning: listening on %s, not loopback; the emulator's "
                             "accounts have published passwords\n", o.host.c_str());

    for (const auto& s : servers) {
        std::string origin = s->origin();
        std::printf("fedora-emulator: FAS2 at %s%.*s/ Bodhi1 at %s%.*s/ Bodhi2 at %s%.*s/ OpenID at %s%.*s/",
                    origin.c_str(), int(fas_mount.size()), fas_mount.data(),
                    origin.c_str(), int(bodhi1_mount.size()), bodhi1_mount.data(),
                    origin.c_str(), int(bodhi2_mount.size()), bodhi2_mount.data(),
                    origin.c_str(), int(openid_mount.size()), openid_mount.data());
        // Last on the line, so a path with spaces can be read as "the rest of the line".
        if (!s->ca_file().empty())
            std::printf(" CA file %s", s->ca_file().c_str());
        std::printf("\n");
    }
    std::printf("ready\n");
    std::fflush(stdout);

    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    std::fprintf(stderr, "fedora-emulator: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (auto& s : servers)
        s->stop();
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    // A parent that stops reading our stdout must not kill us with SIGPIPE mid-request;
    // socket writes already use MSG_NOSIGNAL, stdio does not.
    std::signal(SIGPIPE, SIG_IGN);
    std::optional<options> o;
    try {
        o = parse_options(argc, argv);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "fedora-emulator: %s\n", e.what());
        return 2;
    }
    if (!o) {
        std::fwrite(usage_text.data(), 1, usage_text.size(), stdout);
        return 0;
    }
    try {
        return run(*o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fedora-emulator: %s\n", e.what());
        return 1;
    }
}
