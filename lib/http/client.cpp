#include <fedora/http/client.hpp>
#include <fedora/http/encoding.hpp>

#include "tls.hpp"
#include "../detail/completion.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>

namespace fedora::http {
namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// One kept-alive connection. Used by one call at a time; idle ones belong to the pool.
struct connection
{
    std::optional<tcp::socket> plain;
    std::optional<beast::ssl_stream<tcp::socket>> secure;
    beast::flat_buffer buffer;  // reused across the exchanges of this connection
    clock::time_point created = clock::now();
    clock::time_point last_used = created;
    std::size_t exchanges = 0;

    connection(const asio::any_io_executor& ex, asio::ssl::context* tls)
    {
        if (tls)
            secure.emplace(ex, *tls);
        else
            plain.emplace(ex);
    }

    tcp::socket& socket() { return secure ? secure->next_layer() : *plain; }

    void close() noexcept
    {
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

    // A kept-alive connection the server has closed (or written to unasked) is readable;
    // one that is still usable is not. Costs one non-blocking syscall.
    bool looks_alive()
    {
        if (!socket().is_open())
            return false;
        if (secure && SSL_pending(secure->native_handle()) > 0)
            return false;
        char byte;
        ssize_t n = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
};

// A call waiting for a connection. Shared with the releasing side, which may still hold it
// after the waiting coroutine has moved on.
struct waiter
{
    explicit waiter(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    std::unique_ptr<connection> conn;  // a kept-alive connection handed over
    bool may_open = false;             // or the right to open a new one
    bool closed = false;               // the client shut down
};

struct origin_pool
{
    origin_pool(std::string key, const pool_params& p) : origin(std::move(key)), params(p) {}

    const std::string origin;
    const pool_params params;
    std::mutex mutex;
    std::vector<std::unique_ptr<connection>> idle;  // most recently used last
    std::size_t open = 0;                           // idle + busy + being opened
    std::deque<std::shared_ptr<waiter>> waiters;
    bool closed = false;
    origin_stats counters;

    bool expired(const connection& c, clock::time_point now) const
    {
        return now - c.last_used >= params.idle_timeout ||
               now - c.created >= params.max_connection_age ||
               c.exchanges >= params.max_requests_per_connection;
    }

    static void wake(const std::shared_ptr<waiter>& w)
    {
        // The timer belongs to the waiting call's strand: cancel it there, after the wait
        // has certainly started.
        asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
    }

    // Closes idle connections past their time. Called with the mutex held, on every
    // acquire and release: there is no background timer, so that a pool never keeps an
    // io_context's run() from returning. Idle connections are ordered oldest first.
    void close_expired(clock::time_point now)
    {
        auto keep = std::find_if(idle.begin(), idle.end(),
                                 [&](const auto& c) { return !expired(*c, now); });
        for (auto it = idle.begin(); it != keep; ++it) {
            (*it)->close();
            --open;
        }
        idle.erase(idle.begin(), keep);
    }

    // Returns a connection to the pool, or closes it. Hands it (or its slot) to the first
    // waiter, if any.
    void release(std::unique_ptr<connection> c, bool reusable)
    {
        std::lock_guard lock(mutex);
        const auto now = clock::now();
        if (c)
            c->last_used = now;
        if (c && reusable && !closed && !expired(*c, now)) {
            if (!waiters.empty()) {
                auto w = std::move(waiters.front());
                waiters.pop_front();
                w->conn = std::move(c);
                wake(w);
            } else {
                idle.push_back(std::move(c));
            }
            close_expired(now);
            return;
        }
        if (c)
            c->close();  // before the count drops, so the server never sees one too many
        --open;
        if (!waiters.empty() && !closed) {
            auto w = std::move(waiters.front());
            waiters.pop_front();
            w->may_open = true;
            ++open;
            wake(w);
        }
    }

    void shutdown()
    {
        std::lock_guard lock(mutex);
        closed = true;
        for (auto& c : idle) {
            c->close();
            --open;
        }
        idle.clear();
        for (auto& w : waiters) {
            w->closed = true;
            wake(w);
        }
        waiters.clear();
    }
};

// Enforces the call's total deadline on whatever the call is doing: it closes the socket
// in use (or cancels the resolver), which makes the pending operation complete at once.
struct deadline_guard
{
    explicit deadline_guard(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    connection* conn = nullptr;
    tcp::resolver* resolver = nullptr;
    bool fired = false;
};

class client_impl : public std::enable_shared_from_this<client_impl>
{
public:
    client_impl(asio::any_io_executor ex, client_params p)
        : executor(std::move(ex)), params(std::move(p)), tls(make_tls_context(params.tls))
    {
        if (params.user_agent.empty())
            params.user_agent = "fedora-client/0.1.0";
    }

    asio::any_io_executor executor;
    client_params params;
    asio::ssl::context tls;
    std::mutex pools_mutex;
    std::map<std::string, std::shared_ptr<origin_pool>, std::less<>> pools;
    bool closed = false;

    std::shared_ptr<origin_pool> pool_for(const std::string& origin)
    {
        std::lock_guard lock(pools_mutex);
        if (closed)
            return nullptr;
        auto it = pools.find(origin);
        if (it != pools.end())
            return it->second;
        auto p = std::make_shared<origin_pool>(origin, params.pool);
        p->counters.origin = origin;
        pools.emplace(origin, p);
        return p;
    }

    void shutdown()
    {
        std::map<std::string, std::shared_ptr<origin_pool>, std::less<>> doomed;
        {
            std::lock_guard lock(pools_mutex);
            closed = true;
            doomed.swap(pools);
        }
        for (auto& [_, p] : doomed)
            p->shutdown();
    }

    pool_stats stats()
    {
        pool_stats s;
        std::lock_guard lock(pools_mutex);
        for (auto& [_, p] : pools) {
            std::lock_guard plock(p->mutex);
            origin_stats o = p->counters;
            o.idle = p->idle.size();
            o.in_use = p->open - p->idle.size();
            o.waiting = p->waiters.size();
            s.origins.push_back(std::move(o));
        }
        return s;
    }
};

namespace {

struct call_result
{
    error_code ec;
    response resp;
};

struct acquired
{
    error_code ec;
    std::unique_ptr<connection> conn;  // null with no error: open a new one
    bool reused = false;
};

error_code fail(diagnostics& d, errc e, std::string message, error_code cause = {})
{
    d.message = std::move(message);
    d.cause = cause;
    return make_error_code(e);
}

asio::awaitable<acquired> acquire(origin_pool& pool, clock::time_point deadline, bool force_new,
                                  diagnostics& diag)
{
    std::shared_ptr<waiter> w;
    std::vector<std::unique_ptr<connection>> stale;
    {
        std::lock_guard lock(pool.mutex);
        if (pool.closed)
            co_return acquired{fail(diag, errc::client_closed, "the client was shut down"), nullptr, false};
        const auto now = clock::now();
        pool.close_expired(now);
        while (!force_new && !pool.idle.empty()) {
            auto c = std::move(pool.idle.back());
            pool.idle.pop_back();
            if (!pool.expired(*c, now) && c->looks_alive()) {
                ++pool.counters.reused;
                co_return acquired{{}, std::move(c), true};
            }
            c->close();
            --pool.open;
        }
        if (pool.open < pool.params.max_connections_per_origin) {
            ++pool.open;
            ++pool.counters.opened;
            co_return acquired{{}, nullptr, false};
        }
        if (pool.waiters.size() >= pool.params.max_waiting_per_origin) {
            ++pool.counters.queue_rejections;
            co_return acquired{fail(diag, errc::queue_full,
                                    "all connections busy and the wait queue is full"), nullptr, false};
        }
        w = std::make_shared<waiter>(co_await asio::this_coro::executor);
        w->timer.expires_at(deadline);
        pool.waiters.push_back(w);
    }
    auto [ec] = co_await w->timer.async_wait(tuple_awaitable);
    std::lock_guard lock(pool.mutex);
    if (w->conn) {
        ++pool.counters.reused;
        co_return acquired{{}, std::move(w->conn), true};
    }
    if (w->may_open) {
        ++pool.counters.opened;
        co_return acquired{{}, nullptr, false};
    }
    if (w->closed)
        co_return acquired{fail(diag, errc::client_closed, "the client was shut down"), nullptr, false};
    auto it = std::find(pool.waiters.begin(), pool.waiters.end(), w);
    if (it != pool.waiters.end())
        pool.waiters.erase(it);
    if (ec == asio::error::operation_aborted)
        co_return acquired{fail(diag, errc::cancelled, "cancelled while waiting for a connection"), nullptr, false};
    co_return acquired{fail(diag, errc::timeout, "deadline passed while waiting for a connection"), nullptr, false};
}

asio::awaitable<error_code> open_connection(connection& c, const boost::urls::url_view& url,
                                            bool insecure, deadline_guard& guard,
                                            diagnostics& diag)
{
    const std::string host(url.host_address());
    const std::string port = url.has_port() ? std::string(url.port())
                                            : (url.scheme() == "https" ? "443" : "80");
    guard.conn = &c;
    error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (!ec) {
        std::tie(ec) = co_await c.socket().async_connect(
            tcp::endpoint(address, static_cast<unsigned short>(std::stoul(port))),
            tuple_awaitable);
    } else {
        tcp::resolver resolver(co_await asio::this_coro::executor);
        guard.resolver = &resolver;
        auto [rec, results] = co_await resolver.async_resolve(host, port, tuple_awaitable);
        guard.resolver = nullptr;
        if (guard.fired)
            co_return fail(diag, errc::timeout, "deadline passed while resolving " + host, rec);
        if (rec)
            co_return fail(diag, errc::connect_error, "cannot resolve " + host, rec);
        tcp::endpoint ep;
        std::tie(ec, ep) = co_await asio::async_connect(c.socket(), results, tuple_awaitable);
    }
    if (ec) {
        if (guard.fired)
            co_return fail(diag, errc::timeout, "deadline passed while connecting", ec);
        if (ec == asio::error::operation_aborted)
            co_return fail(diag, errc::cancelled, "cancelled while connecting", ec);
        co_return fail(diag, errc::connect_error, "cannot connect: " + ec.message(), ec);
    }
    c.socket().set_option(tcp::no_delay(true), ec);
    if (!c.secure)
        co_return error_code{};
    if (!prepare_tls_session(c.secure->native_handle(), host, insecure))
        co_return fail(diag, errc::tls_error, "cannot set up TLS for " + host);
    std::tie(ec) = co_await c.secure->async_handshake(asio::ssl::stream_base::client,
                                                      tuple_awaitable);
    if (ec) {
        if (guard.fired)
            co_return fail(diag, errc::timeout, "deadline passed during the TLS handshake", ec);
        if (ec == asio::error::operation_aborted)
            co_return fail(diag, errc::cancelled, "cancelled during the TLS handshake", ec);
        co_return fail(diag, errc::tls_error, describe_tls_failure(c.secure->native_handle(), ec),
                       ec);
    }
    co_return error_code{};
}

struct exchange_outcome
{
    error_code ec;
    bool got_response_bytes = false;
    std::uint64_t bytes_sent = 0;
};

template <class Stream>
asio::awaitable<exchange_outcome> exchange(Stream& stream, connection& c,
                                           bhttp::request<bhttp::string_body>& req,
                                           bhttp::response_parser<bhttp::string_body>& parser)
{
    exchange_outcome out;
    auto [wec, written] = co_await bhttp::async_write(stream, req, tuple_awaitable);
    out.bytes_sent = written;
    if (wec) {
        out.ec = wec;
        co_return out;
    }
    auto [rec, read] = co_await bhttp::async_read(stream, c.buffer, parser, tuple_awaitable);
    out.got_response_bytes = parser.got_some() || read > 0;
    out.ec = rec;
    co_return out;
}

// Maps a failed exchange to the SDK's kinds.
error_code classify_exchange_error(const error_code& ec, diagnostics& diag)
{
    using he = bhttp::error;
    if (ec == he::body_limit)
        return fail(diag, errc::limit_exceeded, "response body larger than the limit", ec);
    if (ec == he::header_limit || ec == he::buffer_overflow)
        return fail(diag, errc::limit_exceeded, "response header larger than the limit", ec);
    if (ec == he::end_of_stream || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated)
        return fail(diag, errc::connect_error, "the server closed the connection", ec);
    if (ec == he::partial_message)
        return fail(diag, errc::protocol_error, "response cut short", ec);
    if (ec.category() == make_error_code(he::end_of_stream).category() ||
        ec.category() == make_error_code(he::bad_version).category())
        return fail(diag, errc::protocol_error, "malformed response: " + ec.message(), ec);
    if (ec.category() == asio::error::get_ssl_category() ||
        ec.category() == asio::ssl::error::get_stream_category())
        return fail(diag, errc::tls_error, "TLS failure: " + ec.message(), ec);
    return fail(diag, errc::connect_error, "connection failed: " + ec.message(), ec);
}

bool is_transient_status(unsigned s)
{
    return s == 429 || s == 502 || s == 503 || s == 504;
}

bool is_redirect(unsigned s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

std::chrono::milliseconds backoff_for(const retry_policy& p, unsigned attempt,
                                      const bhttp::fields* headers)
{
    thread_local std::minstd_rand rng{std::random_device{}()};
    auto cap = p.initial_backoff * (1u << std::min(attempt, 16u));
    cap = std::min<std::chrono::milliseconds>(cap, p.max_backoff);
    std::uniform_int_distribution<long long> dist(0, std::max<long long>(cap.count(), 0));
    std::chrono::milliseconds wait(dist(rng));
    if (p.honour_retry_after && headers) {
        auto it = headers->find(bhttp::field::retry_after);
        if (it != headers->end()) {
            const auto v = it->value();
            unsigned long seconds = 0;
            bool numeric = !v.empty() && v.size() < 8;
            for (char ch : v)
                numeric = numeric && ch >= '0' && ch <= '9';
            if (numeric) {
                seconds = std::stoul(std::string(v));
                wait = std::max<std::chrono::milliseconds>(wait, std::chrono::seconds(seconds));
            }
        }
    }
    return wait;
}

asio::awaitable<call_result> run_call(std::shared_ptr<client_impl> impl, request req)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto ex = co_await asio::this_coro::executor;
    const client_params& params = impl->params;
    const auto start = clock::now();
    const auto timeout = req.timeout.count() > 0 ? req.timeout : params.default_timeout;
    const auto deadline = start + timeout;
    const unsigned max_redirects = req.max_redirects.value_or(params.max_redirects);
    const retry_policy policy = req.retry.value_or(params.retry);

    call_result result;
    diagnostics& diag = result.resp.diag;
    boost::urls::url url = std::move(req.url);
    diag.url = redact_url(url);
    clock::duration pool_wait{};
    std::uint64_t bytes_sent = 0, bytes_received = 0;

    auto finish = [&](error_code ec) -> call_result {
        result.ec = ec;
        diag.url = redact_url(url);
        result.resp.final_url = url;
        if (params.on_exchange) {
            const std::string origin = url.has_scheme() ? origin_of(url) : std::string();
            exchange_event ev{req.method, origin, url.encoded_path(), diag.http_status, ec,
                              bytes_sent, bytes_received, clock::now() - start, pool_wait,
                              diag.attempts};
            params.on_exchange(ev);
        }
        return std::move(result);
    };

    if (url.scheme_id() != boost::urls::scheme::http &&
        url.scheme_id() != boost::urls::scheme::https)
        co_return finish(fail(diag, errc::invalid_argument, "URL scheme must be http or https"));
    if (url.host_address().empty())
        co_return finish(fail(diag, errc::invalid_argument, "URL has no host"));

    bhttp::request<bhttp::string_body> breq;
    static_cast<fields&>(breq) = std::move(req.headers);  // method and target are set below
    breq.version(11);
    breq.body() = std::move(req.body);

    auto guard = std::make_shared<deadline_guard>(ex);
    guard->timer.expires_at(deadline);
    guard->timer.async_wait([guard](error_code ec) {
        if (ec)
            return;
        guard->fired = true;
        if (guard->conn)
            guard->conn->close();
        if (guard->resolver)
            guard->resolver->cancel();
    });
    struct guard_stop
    {
        deadline_guard& g;
        ~guard_stop() { g.timer.cancel(); }
    } stop_guard{*guard};

    unsigned redirects = 0;
    unsigned transient_retries = 0;
    bool stale_retry_used = false;
    bool force_new = false;

    for (;;) {
        const bool tls = url.scheme_id() == boost::urls::scheme::https;
        const std::string origin = origin_of(url);
        auto pool = impl->pool_for(origin);
        if (!pool)
            co_return finish(fail(diag, errc::client_closed, "the client was shut down"));

        breq.method(req.method);
        breq.target(url.encoded_target().empty() ? "/" : std::string(url.encoded_target()));
        breq.set(bhttp::field::host, url.encoded_host_and_port());
        if (breq.find(bhttp::field::user_agent) == breq.end())
            breq.set(bhttp::field::user_agent, params.user_agent);
        breq.keep_alive(true);
        breq.prepare_payload();

        const auto wait_start = clock::now();
        acquired a = co_await acquire(*pool, deadline, force_new, diag);
        pool_wait += clock::now() - wait_start;
        force_new = false;
        if (a.ec)
            co_return finish(a.ec);
        std::unique_ptr<connection> conn = std::move(a.conn);
        if (!conn) {
            conn = std::make_unique<connection>(impl->executor, tls ? &impl->tls : nullptr);
            if (auto ec = co_await open_connection(*conn, url, params.tls.insecure, *guard, diag)) {
                guard->conn = nullptr;
                pool->release(std::move(conn), false);
                if (ec == errc::connect_error && req.safe_to_repeat &&
                    transient_retries + 1 < policy.max_attempts) {
                    auto wait = backoff_for(policy, transient_retries++, nullptr);
                    if (clock::now() + wait < deadline) {
                        asio::steady_timer t(ex, wait);
                        co_await t.async_wait(tuple_awaitable);
                        continue;
                    }
                }
                co_return finish(ec);
            }
        }
        guard->conn = conn.get();
        {
            std::lock_guard lock(pool->mutex);
            ++pool->counters.requests;
        }

        bhttp::response_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(params.header_limit));
        parser.body_limit(req.body_limit ? req.body_limit : params.body_limit);
        if (req.method == verb::head)
            parser.skip(true);

        ++diag.attempts;
        exchange_outcome out = conn->secure ? co_await exchange(*conn->secure, *conn, breq, parser)
                                            : co_await exchange(*conn->plain, *conn, breq, parser);
        guard->conn = nullptr;
        bytes_sent += out.bytes_sent;
        ++conn->exchanges;

        if (out.ec) {
            const bool nothing_back = !out.got_response_bytes && conn->buffer.size() == 0;
            pool->release(std::move(conn), false);
            if (guard->fired) {
                diag.may_have_reached_server = true;
                co_return finish(fail(diag, errc::timeout, "deadline passed waiting for the answer",
                                      out.ec));
            }
            if (out.ec == asio::error::operation_aborted) {
                diag.may_have_reached_server = true;
                co_return finish(fail(diag, errc::cancelled, "cancelled during the exchange",
                                      out.ec));
            }
            // A kept-alive connection that the server had already given up on: the request
            // was most likely never processed, but only a request that is safe to repeat
            // can be sent again to find out.
            if (a.reused && nothing_back && req.safe_to_repeat && !stale_retry_used) {
                stale_retry_used = true;
                force_new = true;
                std::lock_guard lock(pool->mutex);
                ++pool->counters.retries;
                continue;
            }
            diag.may_have_reached_server = true;
            auto ec = classify_exchange_error(out.ec, diag);
            if (nothing_back && ec == errc::connect_error)
                diag.message = "the connection failed before any answer (" + out.ec.message() +
                               "); the request may have reached the server";
            co_return finish(ec);
        }

        auto& msg = parser.get();
        bytes_received += msg.payload_size().value_or(msg.body().size());
        diag.http_status = msg.result_int();
        diag.may_have_reached_server = true;
        // Bytes beyond the declared framing mean the server and we disagree on where the
        // message ended: the connection cannot carry another exchange.
        const bool reusable = msg.keep_alive() && conn->buffer.size() == 0;
        pool->release(std::move(conn), reusable);

        const unsigned status = msg.result_int();
        if (req.safe_to_repeat && is_transient_status(status) &&
            transient_retries + 1 < policy.max_attempts) {
            auto wait = backoff_for(policy, transient_retries++, &msg.base());
            if (clock::now() + wait < deadline) {
                {
                    std::lock_guard lock(pool->mutex);
                    ++pool->counters.retries;
                }
                asio::steady_timer t(ex, wait);
                auto [wec] = co_await t.async_wait(tuple_awaitable);
                if (wec)
                    co_return finish(fail(diag, errc::cancelled, "cancelled during backoff", wec));
                continue;
            }
        }

        if (is_redirect(status) && max_redirects > 0) {
            auto location = msg.find(bhttp::field::location);
            if (location != msg.end()) {
                if (redirects >= max_redirects)
                    co_return finish(fail(diag, errc::redirect_error, "too many redirects"));
                auto ref = boost::urls::parse_uri_reference(location->value());
                if (!ref)
                    co_return finish(fail(diag, errc::protocol_error, "malformed Location header"));
                boost::urls::url next;
                auto resolved = boost::urls::resolve(url, *ref, next);
                if (!resolved || !next.has_scheme())
                    co_return finish(fail(diag, errc::protocol_error, "unusable Location header"));
                if (next.scheme_id() != boost::urls::scheme::http &&
                    next.scheme_id() != boost::urls::scheme::https)
                    co_return finish(fail(diag, errc::redirect_error, "redirect to a non-HTTP URL"));
                if (tls && next.scheme_id() == boost::urls::scheme::http)
                    co_return finish(fail(diag, errc::redirect_error, "redirect from https to http refused"));
                next.remove_fragment();
                const bool cross_origin = origin_of(next) != origin;
                if (cross_origin && !params.allow_cross_origin_redirects)
                    co_return finish(fail(diag, errc::redirect_error,
                                          "redirect to another origin refused: " +
                                              origin_of(next)));
                const bool becomes_get =
                    status == 303 || ((status == 301 || status == 302) && req.method == verb::post);
                if (becomes_get) {
                    req.method = req.method == verb::head ? verb::head : verb::get;
                    breq.body().clear();
                    breq.erase(bhttp::field::content_type);
                    breq.erase(bhttp::field::content_length);
                } else if (cross_origin && !breq.body().empty()) {
                    co_return finish(fail(diag, errc::redirect_error,
                                          "a request body is never re-sent to another origin"));
                }
                if (cross_origin) {
                    // Whatever identifies the user stays with the origin that set it.
                    breq.erase(bhttp::field::cookie);
                    breq.erase(bhttp::field::authorization);
                    breq.erase(bhttp::field::proxy_authorization);
                }
                url = std::move(next);
                ++redirects;
                continue;
            }
        }

        result.resp.message = parser.release();
        co_return finish(error_code{});
    }
}

} // namespace
} // namespace detail

client::client(executor_type executor, client_params params)
{
    if (params.pool.max_connections_per_origin == 0)
        throw std::invalid_argument("pool.max_connections_per_origin must be at least 1");
    if (params.default_timeout.count() <= 0)
        throw std::invalid_argument("default_timeout must be positive");
    if (params.retry.max_attempts == 0)
        throw std::invalid_argument("retry.max_attempts must be at least 1");
    impl_ = std::make_shared<detail::client_impl>(std::move(executor), std::move(params));
}

client::~client()
{
    if (impl_)
        impl_->shutdown();
}

client::client(client&&) noexcept = default;
client& client::operator=(client&& other) noexcept
{
    if (this != &other) {
        if (impl_)
            impl_->shutdown();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

client::executor_type client::get_executor() const noexcept { return impl_->executor; }
const client_params& client::params() const noexcept { return impl_->params; }
pool_stats client::stats() const { return impl_->stats(); }
void client::shutdown() { impl_->shutdown(); }

void client::start(std::shared_ptr<detail::client_impl> impl, request req,
                   boost::asio::any_completion_handler<completion_signature> handler)
{
    namespace asio = boost::asio;
    auto strand = asio::make_strand(impl->executor);
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto handler_ex = fedora::detail::associated_executor_checked(handler, strand);
    auto done = [h = std::move(handler)](std::exception_ptr ep,
                                         detail::call_result r) mutable {
        if (ep) {
            // Only std::bad_alloc and the like can get here: the call's code catches the rest.
            r.ec = make_error_code(errc::protocol_error);
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                r.resp.diag.message = std::string("internal failure: ") + e.what();
            } catch (...) {
                r.resp.diag.message = "internal failure";
            }
        }
        std::move(h)(r.ec, std::move(r.resp));
    };
    asio::co_spawn(strand, detail::run_call(std::move(impl), std::move(req)),
                   asio::bind_executor(handler_ex,
                                       asio::bind_cancellation_slot(slot, std::move(done))));
}

} // namespace fedora::http
