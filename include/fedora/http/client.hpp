// fedora::http::client: the asynchronous HTTP/1.1 client every FAS and Bodhi operation runs
// on. It owns one connection pool per origin (scheme, host, port; the TLS settings are the
// client's), keeps connections alive, and enforces one total deadline per call.
//
// Thread safety: distinct objects: safe. Shared objects: async_send() and stats() may be
// called concurrently from any thread; the executor may be run by several threads. Each call
// runs on its own strand, except on an io_context constructed with concurrency hint 1
// (`io_context ioc(1)`): the client takes the hint as its owner's promise that one thread
// runs it, as Asio does, and saves the strands. Run an io_context from several threads
// only with another hint. Destroying the client closes idle connections; calls in flight
// keep the shared state alive and complete normally.
//
// The transport has no cookie jar and no notion of users: whatever identifies a user
// (cookies, CSRF tokens, credentials) is put into each request by the operation layer.
#pragma once

#include <fedora/async.hpp>
#include <fedora/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/url.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fedora::http {

using verb = boost::beast::http::verb;
using fields = boost::beast::http::fields;
using duration = std::chrono::steady_clock::duration;

// Header fields by name, as Beast enumerates them; a name Beast does not know is in no set.
class field_set
{
public:
    using field = boost::beast::http::field;

    constexpr field_set() = default;
    constexpr field_set(std::initializer_list<field> names)
    {
        for (field f : names)
            insert(f);
    }
    constexpr void insert(field f) noexcept
    {
        if (f != field::unknown)
            bits_[index(f) / 64] |= std::uint64_t{1} << index(f) % 64;
    }
    constexpr bool contains(field f) const noexcept
    {
        return f != field::unknown && (bits_[index(f) / 64] >> index(f) % 64 & 1);
    }

private:
    static constexpr std::size_t index(field f) noexcept { return static_cast<std::size_t>(f); }
    std::array<std::uint64_t, (static_cast<std::size_t>(field::xref) + 64) / 64> bits_{};
};

// Repeats a call that is safe to repeat after a transient failure (connection failure
// before any answer, 502/503/504, 429), with truncated exponential backoff and full jitter,
// honouring Retry-After, always inside the call's deadline. Backoff waits on a timer.
struct retry_policy
{
    unsigned max_attempts = 1;   // 1 = no retry
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{5000};
    bool honour_retry_after = true;
};

// Takes a response body as it arrives instead of response::body(), so that an answer of
// tens of megabytes is parsed while it streams in and never held twice. The operation layer
// uses it for dumps; a body is handed over already inflated when it came gzipped.
// One sink serves one call; the transport calls it from the call's strand only.
class body_sink
{
public:
    virtual ~body_sink() = default;
    // Called once per response header (redirects and retried answers included). true: this
    // response's body goes to write(); false: it is kept in response::body() as usual
    // (error pages, redirects).
    virtual bool accept(const boost::beast::http::response_header<>& header) = 0;
    // The next piece of the body. An error (a fedora::errc) abandons the call, which fails
    // with it; the connection is then closed.
    virtual error_code write(std::string_view data) = 0;
    // After the last piece; may fail as write() may.
    virtual error_code finish() = 0;
    // What went wrong, for diagnostics::message, after write() or finish() failed.
    virtual std::string failure() const = 0;
};

struct request
{
    verb method = verb::get;
    boost::urls::url url;        // absolute http:// or https:// URL
    fields headers;              // set by the operation; Host, User-Agent, Content-Length are added
    std::string body;

    // Per-call options; a zero/empty value takes the client's default.
    std::chrono::milliseconds timeout{0};  // total deadline: queue wait to last body byte
    std::uint64_t body_limit = 0;
    std::optional<unsigned> max_redirects; // 0 = do not follow
    std::optional<retry_policy> retry;
    // Whether sending this request twice is harmless. FAS sends reads as POST, so this is
    // a property of the operation, not of the verb. Only such requests are ever repeated.
    bool safe_to_repeat = false;
    // Set: the body of an accepted response goes there, and response::body() stays empty.
    std::shared_ptr<body_sink> sink;
    // Set: response::message keeps only these header fields, and those the transport reads
    // itself (Content-Encoding, Location, Retry-After). Each kept field is an allocation;
    // an operation that reads two of the dozen a server sends saves the rest. Unset: all.
    std::optional<field_set> response_fields;
};

struct response
{
    // A gzipped body is inflated, and Content-Encoding removed, before anyone sees it.
    boost::beast::http::response<boost::beast::http::string_body> message;
    bool body_streamed = false;  // the body went to request::sink
    boost::urls::url final_url;  // after redirects
    diagnostics diag;

    unsigned status() const noexcept { return message.result_int(); }
    const std::string& body() const noexcept { return message.body(); }
};

// What the observer sees of each completed call; it never contains query strings, bodies
// or header values, so it cannot leak secrets.
struct exchange_event
{
    verb method;
    std::string_view origin;
    std::string_view path;
    unsigned status;
    error_code ec;
    std::uint64_t bytes_sent;
    std::uint64_t bytes_received;
    duration elapsed;
    duration pool_wait;
    unsigned attempts;
};
using observer = std::function<void(const exchange_event&)>;

struct tls_params
{
    // Disables certificate and host-name verification for this client only
    // (python-fedora's name). Never the default.
    bool insecure = false;
    std::string ca_file;               // extra trusted CA certificates (PEM)
    bool use_system_ca_store = true;
    // A TLS connection keeps OpenSSL's read and write buffers (about 34 KB) while it is
    // open. false gives them back whenever they are empty, as Asio's default does: less
    // memory held by idle connections, three 16 KB allocations and frees more per call.
    bool keep_buffers = true;
};

struct pool_params
{
    std::size_t max_connections_per_origin = 16;
    std::size_t max_waiting_per_origin = 1024;  // beyond this, calls fail with errc::queue_full
    std::chrono::milliseconds idle_timeout{30000};
    std::chrono::milliseconds max_connection_age{300000};
    std::size_t max_requests_per_connection = 1000;
    // A kept-alive connection idle at least this long is probed (one non-blocking recv)
    // before it is reused, so that one the server has closed meanwhile is replaced before a
    // request goes out on it. One reused sooner is trusted: servers close idle connections
    // after seconds, not milliseconds, and the probe's syscall was an eighth of a call's
    // CPU under load, when connections are idle for microseconds. A close that races a
    // reuse either way is left to the retry of safe calls. 0 probes at every reuse.
    std::chrono::milliseconds probe_idle_after{50};
};

struct client_params
{
    pool_params pool;
    tls_params tls;
    std::chrono::milliseconds default_timeout{30000};
    std::size_t header_limit = 64 * 1024;
    std::uint64_t body_limit = 512ull * 1024 * 1024;  // a 200,000-person dump fits
    // Sends Accept-Encoding: gzip and inflates gzipped answers as they arrive. body_limit
    // then applies to the inflated size too, so a decompression bomb is a limit error.
    // Answers in any other Content-Encoding are a protocol error either way.
    bool accept_gzip = false;
    unsigned max_redirects = 5;
    bool allow_cross_origin_redirects = false;  // cookies and auth never follow anyway
    std::string user_agent;                      // "" = "fedora-client/<version>"
    retry_policy retry;                          // for safe_to_repeat requests
    observer on_exchange;                        // unset = no cost
};

struct origin_stats
{
    std::string origin;
    std::size_t idle = 0;
    std::size_t in_use = 0;     // connections busy or being opened
    std::size_t waiting = 0;    // calls queued for a connection
    std::uint64_t opened = 0;
    std::uint64_t reused = 0;
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
    std::uint64_t queue_rejections = 0;
};

struct pool_stats
{
    std::vector<origin_stats> origins;
};

namespace detail {
class client_impl;
}

class client
{
public:
    using executor_type = boost::asio::any_io_executor;
    using completion_signature = void(error_code, response);

    // Throws std::invalid_argument for inconsistent params, fedora::error(tls_error) for an
    // unreadable CA file.
    explicit client(executor_type executor, client_params params = {});
    ~client();
    client(client&&) noexcept;
    client& operator=(client&&) noexcept;

    executor_type get_executor() const noexcept;
    const client_params& params() const noexcept;

    // Sends one request (plus redirects and retries as allowed) and completes with the
    // response of any status. Failing statuses are not errors here; the operation layer
    // decides. Errors: timeout, cancelled, queue_full, connect_error, tls_error,
    // protocol_error, limit_exceeded, redirect_error, invalid_argument, client_closed.
    template <class CompletionToken = default_token>
    auto async_send(request req, CompletionToken&& token = CompletionToken{})
    {
        return fedora::detail::initiate<response>(
            [](auto handler, std::shared_ptr<detail::client_impl> impl, request r) {
                start(std::move(impl), std::move(r), std::move(handler));
            },
            std::forward<CompletionToken>(token), impl_, std::move(req));
    }

    pool_stats stats() const;

    // Closes idle connections now and refuses new calls (errc::client_closed).
    void shutdown();

private:
    static void start(std::shared_ptr<detail::client_impl> impl, request&& req,
                      boost::asio::any_completion_handler<completion_signature> handler);

    std::shared_ptr<detail::client_impl> impl_;
};

} // namespace fedora::http
