// fedora::emulator::server: the Beast HTTP/HTTPS server that the FAS2, Bodhi 1 and Bodhi 2
// emulators run in. Tests start it in-process on port 0; the `fedora-emulator` executable
// wraps it for everyone else.
//
// The server owns sockets, TLS, keep-alive and fault injection. What a route answers is
// decided by an `application` mounted at a path prefix (FAS2 under "/accounts", Bodhi under
// its own base), so the protocol logic is plain request -> response code, testable without
// sockets.
//
// Thread safety: start/stop from one thread. mount(), set_fault(), clear_faults(), stats()
// and last_request() may be called from any thread while the server runs; applications must
// synchronise their own state because handlers run on the server's worker threads.
#pragma once

#include <fedora/emulator/certificates.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fedora::emulator {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

// What a handler may know about where a request came from.
struct request_context
{
    std::string path_in_app;   // the request path after the mount prefix, still percent-encoded, no query
    std::string query;         // the raw query string, without '?'
    std::string origin;        // "http://127.0.0.1:PORT" or "https://localhost:PORT" as served
    bool tls = false;
};

// One emulated web application (FAS2, Bodhi 1, Bodhi 2, an OpenID provider...).
class application
{
public:
    virtual ~application() = default;
    // Must not throw for any input; a bad request gets the server's error answer.
    virtual http_response handle(const http_request& request, const request_context& context) = 0;
};

// Faults apply to requests whose path starts with `path_prefix` ("" matches all).
enum class fault_kind : std::uint8_t {
    none,
    latency,              // answer normally after `delay`
    stall,                // read the request, never answer (connection stays open)
    close_after_bytes,    // send the first `bytes` bytes of the response, then close
    malformed_json,       // answer 200 with a JSON body cut in half
    server_error_html,    // answer `status` (default 503) with an HTML body
    wrong_content_length, // declare more Content-Length than the body has, then close
    broken_chunked,       // chunked body with an invalid chunk-size line
    trickle,              // send the response one byte every `delay`
    redirect_other_origin,// 302 to `location` (another origin)
    close_before_response,// read the request, close without a byte of answer
    status_with_retry_after, // answer `status` with Retry-After: `retry_after_seconds`
};

struct fault
{
    fault_kind kind = fault_kind::none;
    std::chrono::milliseconds delay{0};
    std::size_t bytes = 0;
    unsigned status = 503;
    unsigned retry_after_seconds = 0;
    std::string location;
    // Apply to this many matching requests, then switch off; 0 = until cleared.
    std::size_t count = 0;
};

struct server_params
{
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;                  // 0 picks a free port
    bool tls = false;
    std::string tls_host_name = "localhost"; // subjectAltName of the generated certificate
    std::string cert_dir;                    // where ca.pem goes; "" = a fresh temporary directory
    unsigned threads = 1;
    std::size_t max_connections = 0;         // stop accepting beyond this many open (0 = unlimited)
    bool accept = true;                      // false: listen but never accept (connect-timeout tests)
    // Closes a kept-alive connection that has been idle this long (0 = never), as servers
    // with a short keep-alive timeout do.
    std::chrono::milliseconds idle_timeout{0};
    bool record_requests = true;             // keep last_request(); off for benchmarks
    // TLS knobs for the TLS test matrix. Without `certificate` the server makes its own CA
    // and a certificate for tls_host_name and host, and writes the CA to ca_file().
    std::optional<pem_pair> certificate;
    int min_tls_version = 0x0303;            // TLS1_2_VERSION
    int max_tls_version = 0;                 // 0 = the highest OpenSSL offers
    // Gzips answers over 1 KiB for requests that accept it, as the web servers in front of
    // FAS and Bodhi did.
    bool gzip = true;
    // Certificates chosen by the SNI name the client sends; a client that sends another
    // name, or none, gets `certificate` (or the generated one). For the SNI row of the matrix.
    std::map<std::string, pem_pair> sni_certificates;
};

struct server_stats
{
    std::size_t connections_accepted = 0;
    std::size_t connections_open = 0;
    std::size_t connections_peak = 0;
    std::size_t connections_closed_by_peer = 0;
    std::map<std::string, std::size_t> requests_per_path; // path without query
    std::size_t requests_total = 0;
    // TLS: the SNI names clients sent, per handshake ("" = none), and failed handshakes.
    std::map<std::string, std::size_t> tls_server_names;
    std::size_t tls_handshakes_failed = 0;
};

class server
{
public:
    explicit server(server_params params = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds, starts the worker threads and returns at once.
    void start();
    void stop();

    // "/accounts" -> application. Longest prefix wins. May be called while running.
    void mount(std::string prefix, std::shared_ptr<application> app);

    void set_fault(std::string path_prefix, fault f);
    void clear_faults();

    std::uint16_t port() const;
    // "http://127.0.0.1:PORT" (or https://tls_host_name:PORT for TLS).
    std::string origin() const;
    // PEM file of the CA that signed the server certificate ("" without TLS).
    std::string ca_file() const;

    server_stats stats() const;
    void reset_stats();
    // The most recent complete request seen (any path), if any.
    std::optional<http_request> last_request() const;
    // The most recent request whose path starts with prefix.
    std::optional<http_request> last_request(const std::string& path_prefix) const;

    struct impl;  // opaque; named here only so the implementation's helpers can refer to it

private:
    std::shared_ptr<impl> impl_;
};

} // namespace fedora::emulator
