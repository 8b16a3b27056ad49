#include <fedora/http/client.hpp>
#include <fedora/http/encoding.hpp>
#include <fedora/detail/internal_failure.hpp>

#include "op_memory.hpp"
#include "origin.hpp"
#include "tls.hpp"
#include "../detail/completion.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/detail/scheduler.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
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

// The one body type the transport reads with. It keeps the body as a string (as
// string_body would) unless the request's sink accepts it, and inflates gzip on the way.
// The body limit is applied by the parser to the bytes on the wire and here to the inflated
// bytes, so that neither a long body nor a small bomb gets through.
struct received_body
{
    struct value_type
    {
        std::string text;
        body_sink* sink = nullptr;
        bool streamed = false;
        bool inflated = false;
        bool gzip_allowed = false;
        std::uint64_t limit = 0;
        std::uint64_t wire_bytes = 0;  // as received, before inflating
        bool sink_failed = false;
    };

    class reader
    {
    public:
        template <bool isRequest, class Fields>
        reader(bhttp::header<isRequest, Fields>& h, value_type& b) : header_(h), body_(b)
        {
        }

        ~reader()
        {
            if (zs_)
                inflateEnd(zs_.get());
        }

        void init(const boost::optional<std::uint64_t>& length, error_code& ec)
        {
            body_.text.clear();
            body_.wire_bytes = 0;
            body_.streamed = false;
            body_.inflated = false;
            const auto encoding = header_[bhttp::field::content_encoding];
            if (!encoding.empty() && !beast::iequals(encoding, "identity")) {
                if (!body_.gzip_allowed ||
                    !(beast::iequals(encoding, "gzip") || beast::iequals(encoding, "x-gzip"))) {
                    ec = bhttp::error::bad_field;
                    return;
                }
                zs_ = std::make_unique<z_stream>();
                if (inflateInit2(zs_.get(), 16 + MAX_WBITS) != Z_OK) {
                    zs_.reset();
                    ec = make_error_code(std::errc::not_enough_memory);
                    return;
                }
                body_.inflated = true;
            }
            body_.streamed = body_.sink && body_.sink->accept(header_);
            if (!body_.streamed && !zs_ && length)
                body_.text.reserve(static_cast<std::size_t>(std::min(*length, body_.limit)));
        }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, error_code& ec)
        {
            std::size_t taken = 0;
            for (auto b : beast::buffers_range_ref(buffers)) {
                const auto* p = static_cast<const char*>(b.data());
                if (zs_)
                    inflate_some(p, b.size(), ec);
                else
                    deliver(p, b.size(), ec);
                if (ec)
                    return taken;
                taken += b.size();
            }
            body_.wire_bytes += taken;
            return taken;
        }

        void finish(error_code& ec)
        {
            if (zs_ && !stream_end_) {
                ec = bhttp::error::partial_message;  // the gzip stream was cut short
                return;
            }
            if (body_.streamed) {
                ec = body_.sink->finish();
                body_.sink_failed = bool(ec);
            }
        }

    private:
        void deliver(const char* p, std::size_t n, error_code& ec)
        {
            if (body_.streamed) {
                ec = body_.sink->write({p, n});
                body_.sink_failed = bool(ec);
            } else {
                body_.text.append(p, n);
            }
        }

        void inflate_some(const char* p, std::size_t n, error_code& ec)
        {
            char out[16 * 1024];
            zs_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
            zs_->avail_in = static_cast<uInt>(n);
            while (zs_->avail_in > 0 && !ec) {
                if (stream_end_) {
                    ec = bhttp::error::unexpected_body;  // bytes after the gzip stream
                    return;
                }
                zs_->next_out = reinterpret_cast<Bytef*>(out);
                zs_->avail_out = sizeof out;
                const int rc = inflate(zs_.get(), Z_NO_FLUSH);
                if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
                    ec = bhttp::error::bad_chunk;  // not a valid gzip stream
                    return;
                }
                stream_end_ = rc == Z_STREAM_END;
                const std::size_t produced = sizeof out - zs_->avail_out;
                inflated_ += produced;
                if (inflated_ > body_.limit) {
                    ec = bhttp::error::body_limit;
                    return;
                }
                deliver(out, produced, ec);
                if (rc == Z_BUF_ERROR && produced == 0)
                    break;
            }
        }

        const bhttp::response_header<>& header_;
        value_type& body_;
        std::unique_ptr<z_stream> zs_;
        std::uint64_t inflated_ = 0;
        bool stream_end_ = false;
    };
};

// One kept-alive connection. Used by one call at a time; idle ones belong to the pool.
struct connection
{
    std::optional<tcp::socket> plain;
    std::optional<beast::ssl_stream<tcp::socket>> secure;
    beast::flat_buffer buffer;  // reused across the exchanges of this connection
    std::string request_head;   // likewise: the request line and headers being written
    clock::time_point created = clock::now();
    clock::time_point last_used = created;
    std::size_t exchanges = 0;

    connection(const asio::any_io_executor& ex, asio::ssl::context* tls, bool keep_tls_buffers)
    {
        if (tls) {
            secure.emplace(ex, *tls);
            // Asio asks OpenSSL to free a connection's buffers whenever they are empty: three
            // 16 KB allocations and frees per call on a kept-alive connection.
            if (keep_tls_buffers)
                SSL_clear_mode(secure->native_handle(), SSL_MODE_RELEASE_BUFFERS);
        } else {
            plain.emplace(ex);
        }
    }

    tcp::socket& socket() { return secure ? secure->next_layer() : *plain; }

    void close() noexcept
    {
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

    // A kept-alive connection the server has closed (or written to unasked) is readable;
    // one that is still usable is not. The probe costs one non-blocking syscall.
    bool looks_alive(bool probe)
    {
        if (!socket().is_open())
            return false;
        if (secure && SSL_pending(secure->native_handle()) > 0)
            return false;
        if (!probe)
            return true;
        char byte;
        ssize_t n = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
};

class client_impl;

// What a call starts with when the pool has decided for it before the call runs.
struct origin_pool;

struct handoff
{
    std::shared_ptr<origin_pool> pool;
    std::unique_ptr<connection> conn;  // a kept-alive connection
    bool may_open = false;             // or the right to open a new one
    error_code ec;                     // or why it never got either (diag message below)
    std::string message;
    clock::time_point start = clock::now();
    clock::duration waited{};
};

// A new call queued for a connection. It holds no call state while it waits: just
// the request and the handler, so that a hundred thousand queued calls cost little.
struct queued_call
{
    std::shared_ptr<client_impl> impl;
    request req;
    asio::any_completion_handler<client::completion_signature> handler;
    clock::time_point start;
    clock::time_point deadline;
};

// A call waiting for a connection: a queued new call, or a running call (a redirect or a
// retry) whose `acquire` coroutine waits on `timer`. Shared with the releasing side, which
// may still hold it after the waiting coroutine has moved on.
struct waiter
{
    waiter() = default;
    explicit waiter(const asio::any_io_executor& ex) { timer.emplace(ex); }
    std::optional<asio::steady_timer> timer;
    std::unique_ptr<queued_call> call;
    std::unique_ptr<connection> conn;  // a kept-alive connection handed over
    bool may_open = false;             // or the right to open a new one
    bool closed = false;               // the client shut down
};

// Starts a call (defined with the call's steps below).
void spawn_call(std::shared_ptr<client_impl> impl, request&& req,
                asio::any_completion_handler<client::completion_signature> handler,
                std::optional<handoff> first);

// Queued calls the pool has decided for; started once its mutex is released.
struct to_start
{
    std::unique_ptr<queued_call> call;
    handoff h;
};
void start_all(std::vector<to_start>& calls);

struct origin_pool : std::enable_shared_from_this<origin_pool>
{
    origin_pool(std::string key, const pool_params& p, const asio::any_io_executor& ex)
        : origin(std::move(key)), params(p), expiry(ex)
    {
    }

    const std::string origin;
    const pool_params params;
    std::mutex mutex;
    std::vector<std::unique_ptr<connection>> idle;  // most recently used last
    std::size_t open = 0;                           // idle + busy + being opened
    std::deque<std::shared_ptr<waiter>> waiters;
    bool closed = false;
    origin_stats counters;
    // Fails queued calls at their deadlines: one timer for the whole queue, armed for the
    // earliest deadline (a queued call has no state yet, hence no timer of its own).
    asio::steady_timer expiry;
    clock::time_point expiry_armed_for = clock::time_point::max();

    bool expired(const connection& c, clock::time_point now) const
    {
        return now - c.last_used >= params.idle_timeout ||
               now - c.created >= params.max_connection_age ||
               c.exchanges >= params.max_requests_per_connection;
    }

    // Called with the mutex held: a connection or the right to open one now, if any.
    bool take_now(bool force_new, handoff& h)
    {
        const auto now = clock::now();
        close_expired(now);
        while (!force_new && !idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            if (!expired(*c, now) && c->looks_alive(now - c->last_used >= params.probe_idle_after)) {
                ++counters.reused;
                h.conn = std::move(c);
                return true;
            }
            c->close();
            --open;
        }
        if (open < params.max_connections_per_origin) {
            ++open;
            ++counters.opened;
            h.may_open = true;
            return true;
        }
        return false;
    }

    // Called with the mutex held: takes a queued call out of `w`, to be started once the
    // mutex is released, with what `w` was given or with `ec`.
    void hand_over(waiter& w, std::vector<to_start>& starts, error_code ec = {}, std::string message = {})
    {
        to_start t{std::move(w.call), {}};
        t.h.pool = shared_from_this();
        t.h.start = t.call->start;
        t.h.waited = clock::now() - t.call->start;
        if (w.conn)
            ++counters.reused;
        else if (w.may_open)
            ++counters.opened;
        t.h.conn = std::move(w.conn);
        t.h.may_open = w.may_open;
        t.h.ec = ec;
        t.h.message = std::move(message);
        starts.push_back(std::move(t));
    }

    // Hands the slot or connection now in `w` to its call: a queued call is collected, to
    // be started once the mutex is released; a waiting coroutine is woken.
    void wake(const std::shared_ptr<waiter>& w, std::vector<to_start>& starts)
    {
        if (w->call) {
            if (w->closed)
                hand_over(*w, starts, make_error_code(errc::client_closed), "the client was shut down");
            else
                hand_over(*w, starts);
            return;
        }
        // The timer belongs to the waiting call's strand: cancel it there, after the wait
        // has certainly started.
        asio::post(w->timer->get_executor(), [w] { w->timer->cancel(); });
    }

    // Called with the mutex held, after calls left the queue: an idle pool keeps no timer
    // waiting, so that it never keeps an io_context's run() from returning.
    void queue_changed()
    {
        if (waiters.empty() && expiry_armed_for != clock::time_point::max()) {
            expiry.cancel();
            expiry_armed_for = clock::time_point::max();
        }
    }

    // Called with the mutex held, when a call is queued.
    void arm_expiry(clock::time_point deadline)
    {
        if (deadline >= expiry_armed_for)
            return;
        expiry_armed_for = deadline;
        expiry.expires_at(deadline);
        expiry.async_wait([self = shared_from_this()](error_code ec) {
            if (ec != asio::error::operation_aborted)
                self->expire_queued();
        });
    }

    void expire_queued()
    {
        std::vector<to_start> starts;
        {
            std::lock_guard lock(mutex);
            const auto now = clock::now();
            auto next = clock::time_point::max();
            std::erase_if(waiters, [&](const std::shared_ptr<waiter>& w) {
                if (!w->call)
                    return false;
                if (w->call->deadline > now) {
                    next = std::min(next, w->call->deadline);
                    return false;
                }
                hand_over(*w, starts, make_error_code(errc::timeout),
                          "deadline passed while waiting for a connection");
                return true;
            });
            expiry_armed_for = clock::time_point::max();
            if (next != clock::time_point::max() && !waiters.empty())
                arm_expiry(next);
        }
        start_all(starts);
    }

    // A queued call's caller cancelled it: it leaves the queue and fails as cancelled.
    void cancel_queued(const std::shared_ptr<waiter>& target)
    {
        std::vector<to_start> starts;
        {
            std::lock_guard lock(mutex);
            auto it = std::find(waiters.begin(), waiters.end(), target);
            if (it == waiters.end() || !(*it)->call)
                return;  // already handed on
            hand_over(**it, starts, make_error_code(errc::cancelled),
                      "cancelled while waiting for a connection");
            waiters.erase(it);
            queue_changed();
        }
        start_all(starts);
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
        std::vector<to_start> starts;
        release_locked(std::move(c), reusable, starts);
        start_all(starts);
    }

    void release_locked(std::unique_ptr<connection> c, bool reusable, std::vector<to_start>& starts)
    {
        std::lock_guard lock(mutex);
        const auto now = clock::now();
        if (c)
            c->last_used = now;
        if (c && reusable && !closed && !expired(*c, now)) {
            if (!waiters.empty()) {
                auto w = std::move(waiters.front());
                waiters.pop_front();
                queue_changed();
                w->conn = std::move(c);
                wake(w, starts);
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
            queue_changed();
            w->may_open = true;
            ++open;
            wake(w, starts);
        }
    }

    void shutdown()
    {
        std::vector<to_start> starts;
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
                wake(w, starts);
            }
            waiters.clear();
            expiry.cancel();
            expiry_armed_for = clock::time_point::max();
        }
        start_all(starts);
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
    timer_op_slot op_slot;  // for the timer's wait, which the guard's handler keeps alive
};

class client_impl : public std::enable_shared_from_this<client_impl>
{
public:
    client_impl(asio::any_io_executor ex, client_params p)
        : executor(std::move(ex)),
          one_thread(runs_on_one_thread(executor)),
          params(std::move(p)),
          tls(make_tls_context(params.tls))
    {
        if (params.user_agent.empty())
            params.user_agent = "fedora-client/0.1.0";
    }

    // Whether the executor is an io_context its owner promised to run on one thread only
    // (concurrency hint 1, or a hint without scheduler locking), the promise Asio itself
    // relies on to drop its own locks. A call then needs no strand of its own: nothing of it
    // can run concurrently with anything else. Any other executor gets a strand per call.
    static bool runs_on_one_thread(const asio::any_io_executor& ex)
    {
        const auto* io = ex.target<asio::io_context::executor_type>();
        if (!io)
            return false;
        const int hint = asio::use_service<asio::detail::scheduler>(io->context()).concurrency_hint();
        return hint == 1 || !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(SCHEDULER, hint);
    }

    // The executor a new call runs on.
    asio::any_io_executor call_executor() const
    {
        if (one_thread)
            return executor;
        return asio::make_strand(executor);
    }

    asio::any_io_executor executor;
    const bool one_thread;
    client_params params;
    asio::ssl::context tls;  // its system CA store is loaded by tls_context()

    asio::ssl::context& tls_context()
    {
        std::call_once(system_ca_store_loaded, [this] { load_system_ca_store(tls, params.tls); });
        return tls;
    }

    std::once_flag system_ca_store_loaded;
    std::mutex pools_mutex;
    std::map<std::string, std::shared_ptr<origin_pool>, std::less<>> pools;
    bool closed = false;

    std::shared_ptr<origin_pool> pool_for(std::string_view origin)
    {
        std::lock_guard lock(pools_mutex);
        if (closed)
            return nullptr;
        auto it = pools.find(origin);
        if (it != pools.end())
            return it->second;
        auto p = std::make_shared<origin_pool>(std::string(origin), params.pool, executor);
        p->counters.origin = origin;
        pools.emplace(std::string(origin), p);
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

// A URL's origin, as origin_of() writes it, composed on the stack: finding the pool of a
// call then allocates nothing (origin_of's string was an allocation and a free per call).
class origin_key
{
public:
    explicit origin_key(const boost::urls::url_view& url)
    {
        const auto pieces = origin_pieces(url);
        std::size_t n = 0;
        for (const auto piece : pieces)
            n += piece.size();
        char* const out = n <= sizeof small_ ? small_ : (large_.resize(n), large_.data());
        char* p = out;
        for (const auto piece : pieces) {
            std::memcpy(p, piece.data(), piece.size());
            p += piece.size();
        }
        view_ = std::string_view(out, n);
    }
    origin_key(const origin_key&) = delete;

    std::string_view view() const noexcept { return view_; }

private:
    char small_[120];
    std::string large_;
    std::string_view view_;
};

struct acquired
{
    error_code ec;
    std::unique_ptr<connection> conn;  // null with no error: open a new one
    bool reused = false;
};

// CR, LF or NUL in a header would end it early and let the rest of the value become headers
// of its own (or a second request). Eight bytes at a time: every header of every call passes
// here, and a byte-by-byte loop cost six instructions a byte.
bool breaks_header_line(std::string_view s)
{
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    // Non-zero when some byte of v is b (the classic "has a zero byte" test on v ^ b...b).
    const auto has_byte = [](std::uint64_t v, unsigned char b) {
        v ^= ones * b;
        return (v - ones) & ~v & highs;
    };
    std::uint64_t found = 0;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t v;
        std::memcpy(&v, s.data() + i, 8);
        found |= has_byte(v, '\r') | has_byte(v, '\n') | has_byte(v, '\0');
    }
    for (; i < s.size(); ++i)
        found |= (s[i] == '\r') | (s[i] == '\n') | (s[i] == '\0');
    return found != 0;
}

error_code fail(diagnostics& d, errc e, std::string message, error_code cause = {})
{
    d.message = std::move(message);
    d.cause = cause;
    return make_error_code(e);
}

asio::awaitable<acquired> acquire(origin_pool& pool, clock::time_point deadline, bool force_new,
                                  diagnostics& diag)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    std::shared_ptr<waiter> w;
    std::vector<std::unique_ptr<connection>> stale;
    {
        std::lock_guard lock(pool.mutex);
        if (pool.closed)
            co_return acquired{fail(diag, errc::client_closed, "the client was shut down"), nullptr, false};
        handoff now;
        if (pool.take_now(force_new, now)) {
            const bool reused = bool(now.conn);
            co_return acquired{{}, std::move(now.conn), reused};
        }
        if (pool.waiters.size() >= pool.params.max_waiting_per_origin) {
            ++pool.counters.queue_rejections;
            co_return acquired{fail(diag, errc::queue_full,
                                    "all connections busy and the wait queue is full"), nullptr, false};
        }
        w = std::make_shared<waiter>(co_await asio::this_coro::executor);
        w->timer->expires_at(deadline);
        pool.waiters.push_back(w);
    }
    auto [ec] = co_await w->timer->async_wait(tuple_awaitable);
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
    pool.queue_changed();
    if (ec == asio::error::operation_aborted)
        co_return acquired{fail(diag, errc::cancelled, "cancelled while waiting for a connection"), nullptr, false};
    co_return acquired{fail(diag, errc::timeout, "deadline passed while waiting for a connection"), nullptr, false};
}

asio::awaitable<error_code> open_connection(connection& c, boost::urls::url_view url, bool insecure,
                                            deadline_guard& guard, diagnostics& diag)
{
    co_await asio::this_coro::throw_if_cancelled(false);
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

// Beast's response parser, but storing only the header fields someone reads: each stored
// field is an allocation, a tree insert and a free, and a server sends a dozen of them
// (nginx nine for a static file) where an operation reads one or two. What Beast reads
// for itself (framing, Connection) it reads before a field is stored or dropped.
class response_parser final : public bhttp::basic_parser<false>
{
public:
    using message_type = bhttp::response<received_body>;

    // kept: null keeps all; else it outlives the parser (it is the call's request's).
    explicit response_parser(const field_set* kept) : kept_(kept) {}
    response_parser(const response_parser&) = delete;
    response_parser& operator=(const response_parser&) = delete;

    message_type& get() noexcept { return m_; }
    message_type release() { return std::move(m_); }

private:
    // The fields the transport itself reads, whatever the request keeps.
    static constexpr field_set transport_reads{bhttp::field::content_encoding, bhttp::field::location,
                                               bhttp::field::retry_after};

    void on_request_impl(verb, beast::string_view, beast::string_view, int, error_code& ec) override
    {
        ec = bhttp::error::bad_method;  // a response parser meets no request line
    }
    void on_response_impl(int code, beast::string_view reason, int version, error_code&) override
    {
        m_.result(code);
        m_.version(version);
        m_.reason(reason);
    }
    void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                       error_code&) override
    {
        if (!kept_ || kept_->contains(name) || transport_reads.contains(name))
            m_.insert(name, name_string, value);
    }
    void on_header_impl(error_code& ec) override { ec = {}; }
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override
    {
        rd_.init(length, ec);
    }
    std::size_t on_body_impl(beast::string_view body, error_code& ec) override
    {
        return rd_.put(asio::buffer(body.data(), body.size()), ec);
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override
    {
        return rd_.put(asio::buffer(body.data(), body.size()), ec);
    }
    void on_finish_impl(error_code& ec) override { rd_.finish(ec); }

    message_type m_;
    received_body::reader rd_{m_.base(), m_.body()};
    const field_set* kept_;
};

constexpr std::size_t read_size = 16 * 1024;
constexpr std::size_t streamed_read_size = 64 * 1024;  // Beast's largest read

// Interim (1xx) answers before the final one; more than this is a broken server.
constexpr int max_interim_responses = 8;

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

// Where a call is while it waits; the handler that resumes it goes on from there.
enum class waiting_for { connection, connect, write, read, backoff };

// Forwards the caller's cancellation to the call's own signal, on the call's executor (the
// caller may emit from elsewhere). Only terminal cancellation: an HTTP exchange cannot be
// partly undone.
struct forward_cancellation
{
    forward_cancellation(std::shared_ptr<asio::cancellation_signal> s, asio::any_io_executor e)
        : signal(std::move(s)), ex(std::move(e))
    {
    }

    std::shared_ptr<asio::cancellation_signal> signal;
    asio::any_io_executor ex;

    void operator()(asio::cancellation_type type)
    {
        if ((type & asio::cancellation_type::terminal) == asio::cancellation_type::none)
            return;
        asio::dispatch(ex, [s = signal] { s->emit(asio::cancellation_type::terminal); });
    }
};

// Everything one call keeps while it runs, on the heap. The common path (a kept-alive
// connection: write, read) is driven by plain completion handlers (see `resume` below): a
// coroutine per call cost a frame per wait, a post to start and one to finish, most of the
// instructions the SDK spent beyond a raw Beast client. The rare waits (a pool queue after
// a retry or a redirect, opening a connection) are coroutines of their own.
struct call
{
    call(std::shared_ptr<client_impl> i, request&& r, std::optional<handoff> f)
        : impl(std::move(i)),
          req(std::move(r)),
          first(std::move(f)),
          params(impl->params),
          start(first ? first->start : clock::now()),
          deadline(start + (req.timeout.count() > 0 ? req.timeout : params.default_timeout)),
          max_redirects(req.max_redirects.value_or(params.max_redirects)),
          policy(req.retry.value_or(params.retry)),
          url(std::move(req.url))
    {
    }

    ~call()
    {
        if (guard)
            guard->timer.cancel();
    }

    // What a step asks the driver (`go_on` below) to do next.
    enum class next { finished, go_on, again, backoff };

    std::shared_ptr<client_impl> impl;
    request req;
    std::optional<handoff> first;
    const client_params& params;
    const clock::time_point start;
    const clock::time_point deadline;
    const unsigned max_redirects;
    const retry_policy policy;
    call_result result;
    boost::urls::url url;
    clock::duration pool_wait{};
    std::uint64_t bytes_sent = 0, bytes_received = 0;
    bhttp::request<bhttp::string_body> breq;
    std::shared_ptr<deadline_guard> guard;
    unsigned redirects = 0;
    unsigned transient_retries = 0;
    bool stale_retry_used = false;
    bool force_new = false;
    bool tls = false;
    std::shared_ptr<origin_pool> pool;
    acquired a;
    bool acquired_already = false;  // the pool decided before the call ran
    std::unique_ptr<connection> conn;
    bool fresh_connection = false;  // to be opened before the exchange
    std::optional<response_parser> parser;
    exchange_outcome out;
    std::chrono::milliseconds backoff{0};
    bool backoff_cancellable = true;
    // The headers the transport adds, written with the request line (see `write_head`)
    // rather than kept in the fields: each field there costs an allocation and a free.
    bool add_user_agent = false;
    bool add_accept_encoding = false;
    bool framed_in_fields = false;  // prepare_payload framed the body: no Content-Length of ours
    std::optional<asio::steady_timer> backoff_timer;
    clock::time_point wait_start{};
    int interim = 0;  // 1xx answers read so far in this exchange

    // How the call ends and where it is resumed.
    asio::any_completion_handler<client::completion_signature> handler;
    asio::any_io_executor ex;  // the call's own: the io_context's, or a strand of it
    asio::any_completion_executor handler_ex;
    asio::any_completion_executor handler_work;  // tracks work on another execution context
    std::shared_ptr<asio::cancellation_signal> cancellation;  // when the caller can cancel
    waiting_for waiting = waiting_for::connection;
    bool initiating = false;  // an operation is being started (see `resume`)
    call_op_slot op_slot;     // for the operations `resume` waits on
    bool went_async = false;  // the initiating function has returned
    bool write_cancelled = false;  // cancelled while the write waited in the queue

    asio::cancellation_slot own_slot() const noexcept
    {
        return cancellation ? cancellation->slot() : asio::cancellation_slot();
    }

    diagnostics& diag() { return result.resp.diag; }

    // The last step of every call: `url` is not needed after it.
    next finish(error_code ec)
    {
        if (guard)
            guard->timer.cancel();
        result.ec = ec;
        diagnostics& d = diag();
        d.url = redact_url(url);
        if (params.on_exchange) {
            const std::string origin = url.has_scheme() ? origin_of(url) : std::string();
            exchange_event ev{req.method, origin, url.encoded_path(), d.http_status, ec,
                              bytes_sent, bytes_received, clock::now() - start, pool_wait,
                              d.attempts};
            params.on_exchange(ev);
        }
        result.resp.final_url = std::move(url);
        return next::finished;
    }

    next fail_with(errc e, std::string message, error_code cause = {})
    {
        return finish(fail(diag(), e, std::move(message), cause));
    }

    // Checks the request and arms the deadline; before any I/O.
    next prepare()
    {
        if (url.scheme_id() != boost::urls::scheme::http &&
            url.scheme_id() != boost::urls::scheme::https)
            return fail_with(errc::invalid_argument, "URL scheme must be http or https");
        if (url.host_address().empty())
            return fail_with(errc::invalid_argument, "URL has no host");

        // A header that breaks its line is refused before any I/O. Beast writes whatever the
        // fields hold, so this is the one place that stands between a value from the caller
        // (a user agent, a cookie, a token) and the wire. The same walk notes which of the
        // headers the transport adds the caller set, so that adding them needs no lookup.
        bool has_host = false, has_user_agent = false, has_accept_encoding = false,
             has_connection = false, has_framing = false;
        for (const auto& f : req.headers) {
            if (breaks_header_line(f.name_string()) || breaks_header_line(f.value()))
                return fail_with(errc::invalid_argument,
                                 "a header (" + std::string(f.name_string().substr(0, 64)) +
                                     ") contains CR, LF or NUL");
            switch (f.name()) {
            case bhttp::field::host: has_host = true; break;
            case bhttp::field::user_agent: has_user_agent = true; break;
            case bhttp::field::accept_encoding: has_accept_encoding = true; break;
            case bhttp::field::connection: has_connection = true; break;
            case bhttp::field::content_length:
            case bhttp::field::transfer_encoding: has_framing = true; break;
            default: break;
            }
        }
        if (breaks_header_line(params.user_agent))
            return fail_with(errc::invalid_argument, "the user agent contains CR, LF or NUL");

        // The headers that stay the same over redirects and retries; the request line and
        // Host are written per attempt from the URL (a caller's Host gives way to it), and a
        // redirect that turns the request into a GET drops the body and its headers itself
        // (see `follow`).
        static_cast<fields&>(breq) = std::move(req.headers);
        breq.version(11);
        breq.method(req.method);
        breq.body() = std::move(req.body);
        if (has_host)
            breq.erase(bhttp::field::host);
        add_user_agent = !has_user_agent;
        add_accept_encoding = params.accept_gzip && !has_accept_encoding;
        if (has_connection)
            breq.keep_alive(true);  // HTTP/1.1 keeps the connection alive unless told otherwise
        framed_in_fields = has_framing || req.method == verb::trace;
        if (framed_in_fields)
            breq.prepare_payload();  // the caller's framing gives way to the body's size

        guard = std::make_shared<deadline_guard>(ex);
        guard->timer.expires_at(deadline);
        guard->timer.async_wait(asio::bind_allocator(op_allocator<void, timer_op_slot>(guard->op_slot), [g = guard](error_code ec) {
            if (ec)
                return;
            g->fired = true;
            if (g->conn)
                g->conn->close();
            if (g->resolver)
                g->resolver->cancel();
        }));
        return next::go_on;
    }

    // Before each attempt: the pool of the URL's origin and the request line and headers
    // for it; takes what the pool decided before the call ran, if it did.
    next begin_attempt()
    {
        tls = url.scheme_id() == boost::urls::scheme::https;
        pool = first ? first->pool : impl->pool_for(origin_key(url).view());
        if (!pool)
            return fail_with(errc::client_closed, "the client was shut down");

        acquired_already = false;
        if (first) {
            // The pool decided before this call started (see enqueue_or_spawn).
            pool_wait += first->waited;
            if (first->ec)
                return fail_with(static_cast<errc>(first->ec.value()), std::move(first->message));
            a = acquired{};
            a.reused = bool(first->conn);
            a.conn = std::move(first->conn);
            first.reset();
            acquired_already = true;
        }
        return next::go_on;
    }

    next after_acquire()
    {
        force_new = false;
        if (a.ec)
            return finish(a.ec);
        // The deadline may have passed while no socket was in use (the guard then had
        // nothing to close), e.g. a waiter woken with a connection just after its own
        // deadline: going on would wait on a socket no timer watches any more.
        if (guard->fired) {
            const bool back_to_pool = a.conn != nullptr;
            pool->release(std::move(a.conn), back_to_pool);
            return fail_with(errc::timeout, "deadline passed while waiting for a connection");
        }
        conn = std::move(a.conn);
        fresh_connection = !conn;
        if (fresh_connection)
            conn = std::make_unique<connection>(impl->executor, tls ? &impl->tls_context() : nullptr,
                                                params.tls.keep_buffers);
        return next::go_on;
    }

    next after_connect_failure(error_code ec)
    {
        guard->conn = nullptr;
        pool->release(std::move(conn), false);
        if (ec == errc::connect_error && req.safe_to_repeat &&
            transient_retries + 1 < policy.max_attempts) {
            auto wait = backoff_for(policy, transient_retries++, nullptr);
            if (clock::now() + wait < deadline) {
                backoff = wait;
                backoff_cancellable = false;
                return next::backoff;
            }
        }
        return finish(ec);
    }

    void before_exchange()
    {
        guard->conn = conn.get();
        {
            std::lock_guard lock(pool->mutex);
            ++pool->counters.requests;
        }
        ++diag().attempts;
    }

    // The request line and headers of this attempt, as Beast's serializer would write them
    // with the transport's own headers in the fields. The serializer walks the fields
    // through nested buffer-sequence adaptors that cost more than the write itself (perf:
    // ~6% of a call's CPU at C=64 over HTTPS); one append per piece into a string the
    // connection keeps costs a fraction of that, and the body goes out as it is, as a
    // second buffer. `prepare` framed the body by Content-Length (or not at all), so it is
    // never chunked.
    void write_head(std::string& out) const
    {
        const auto target = url.encoded_target();
        if (out.capacity() > 64 * 1024)
            std::string().swap(out);  // a connection keeps no room for a rare huge head
        out.clear();
        out.append(bhttp::to_string(req.method))
            .append(" ")
            .append(target.empty() ? std::string_view("/") : std::string_view(target))
            .append(" HTTP/1.1\r\nHost: ")
            .append(url.encoded_host_and_port())
            .append("\r\n");
        if (add_user_agent)
            out.append("User-Agent: ").append(params.user_agent).append("\r\n");
        if (add_accept_encoding)
            out.append("Accept-Encoding: gzip\r\n");
        // What prepare_payload would set, for the method and body of this attempt (a
        // redirect may have made it a GET without a body).
        if (!framed_in_fields && (!breq.body().empty() || req.method == verb::post ||
                                  req.method == verb::put || req.method == verb::options)) {
            char digits[24];
            const auto end = std::to_chars(digits, digits + sizeof digits, breq.body().size()).ptr;
            out.append("Content-Length: ").append(digits, end).append("\r\n");
        }
        for (const auto& f : breq)
            out.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
        out.append("\r\n");
    }

    void make_parser(std::optional<response_parser>& p) const
    {
        const std::uint64_t body_limit = req.body_limit ? req.body_limit : params.body_limit;
        p.emplace(req.response_fields ? &*req.response_fields : nullptr);
        p->header_limit(static_cast<std::uint32_t>(params.header_limit));
        p->body_limit(body_limit);
        p->get().body().sink = req.sink.get();
        p->get().body().gzip_allowed = params.accept_gzip;
        p->get().body().limit = body_limit;
        if (req.method == verb::head)
            p->skip(true);
    }

    next after_exchange()
    {
        diagnostics& d = diag();
        guard->conn = nullptr;
        bytes_sent += out.bytes_sent;
        ++conn->exchanges;

        if (out.ec) {
            const bool nothing_back = !out.got_response_bytes && conn->buffer.size() == 0;
            pool->release(std::move(conn), false);
            if (guard->fired) {
                d.may_have_reached_server = true;
                return fail_with(errc::timeout, "deadline passed waiting for the answer", out.ec);
            }
            if (out.ec == asio::error::operation_aborted) {
                d.may_have_reached_server = true;
                return fail_with(errc::cancelled, "cancelled during the exchange", out.ec);
            }
            // A kept-alive connection that the server had already given up on: the request
            // was most likely never processed, but only a request that is safe to repeat
            // can be sent again to find out.
            if (a.reused && nothing_back && req.safe_to_repeat && !stale_retry_used) {
                stale_retry_used = true;
                force_new = true;
                std::lock_guard lock(pool->mutex);
                ++pool->counters.retries;
                return next::again;
            }
            d.may_have_reached_server = true;
            if (parser && parser->get().body().sink_failed)
                return fail_with(out.ec.category() == error_category() ? static_cast<errc>(out.ec.value())
                                                                      : errc::protocol_error,
                                 req.sink->failure(), out.ec);
            auto ec = classify_exchange_error(out.ec, d);
            if (nothing_back && ec == errc::connect_error)
                d.message = "the connection failed before any answer (" + out.ec.message() +
                            "); the request may have reached the server";
            return finish(ec);
        }

        auto& msg = parser->get();
        if (msg.result_int() < 100) {
            // Beast reads any three digits; no HTTP status is below 100 (RFC 9110 §15).
            pool->release(std::move(conn), false);
            d.may_have_reached_server = true;
            return fail_with(errc::protocol_error,
                             "malformed response: status " + std::to_string(msg.result_int()));
        }
        if (msg.result_int() == 101) {
            // Nothing asked for an upgrade: the connection no longer speaks HTTP/1.1.
            pool->release(std::move(conn), false);
            d.may_have_reached_server = true;
            d.http_status = 101;
            return fail_with(errc::protocol_error,
                             "unexpected 101 Switching Protocols: no upgrade was asked for");
        }
        bytes_received += msg.body().wire_bytes;
        d.http_status = msg.result_int();
        d.may_have_reached_server = true;
        // Bytes beyond the declared framing mean the server and we disagree on where the
        // message ended: the connection cannot carry another exchange.
        // A body that ended with the connection (no length, not chunked) cannot leave the
        // connection alive, whatever the headers claim.
        // The parser's own reading of the framing headers (the message's keep_alive()
        // would look the Connection header up again by name).
        const bool reusable = parser->keep_alive() && !parser->need_eof() && conn->buffer.size() == 0;
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
                backoff = wait;
                backoff_cancellable = true;
                return next::backoff;
            }
        }

        if (is_redirect(status) && max_redirects > 0) {
            auto location = msg.find(bhttp::field::location);
            if (location != msg.end())
                return follow(status, location->value());
        }

        auto received = parser->release();
        result.resp.body_streamed = received.body().streamed;
        if (received.body().inflated) {
            received.erase(bhttp::field::content_encoding);
            received.erase(bhttp::field::content_length);
        }
        result.resp.message = bhttp::response<bhttp::string_body>(std::move(received.base()),
                                                                  std::move(received.body().text));
        return finish(error_code{});
    }

    next follow(unsigned status, std::string_view location)
    {
        if (redirects >= max_redirects)
            return fail_with(errc::redirect_error, "too many redirects");
        auto ref = boost::urls::parse_uri_reference(location);
        if (!ref)
            return fail_with(errc::protocol_error, "malformed Location header");
        boost::urls::url next_url;
        auto resolved = boost::urls::resolve(url, *ref, next_url);
        if (!resolved || !next_url.has_scheme())
            return fail_with(errc::protocol_error, "unusable Location header");
        if (next_url.scheme_id() != boost::urls::scheme::http &&
            next_url.scheme_id() != boost::urls::scheme::https)
            return fail_with(errc::redirect_error, "redirect to a non-HTTP URL");
        if (tls && next_url.scheme_id() == boost::urls::scheme::http)
            return fail_with(errc::redirect_error, "redirect from https to http refused");
        next_url.remove_fragment();
        const std::string next_origin = origin_of(next_url);
        const bool cross_origin = next_origin != pool->origin;
        if (cross_origin && !params.allow_cross_origin_redirects)
            return fail_with(errc::redirect_error, "redirect to another origin refused: " + next_origin);
        const bool becomes_get =
            status == 303 || ((status == 301 || status == 302) && req.method == verb::post);
        if (becomes_get) {
            req.method = req.method == verb::head ? verb::head : verb::get;
            breq.body().clear();
            breq.erase(bhttp::field::content_type);
            breq.erase(bhttp::field::content_length);
        } else if (cross_origin && !breq.body().empty()) {
            return fail_with(errc::redirect_error, "a request body is never re-sent to another origin");
        }
        if (cross_origin) {
            // Whatever identifies the user stays with the origin that set it.
            breq.erase(bhttp::field::cookie);
            breq.erase(bhttp::field::authorization);
            breq.erase(bhttp::field::proxy_authorization);
        }
        url = std::move(next_url);
        ++redirects;
        return next::again;
    }
};

// The steps between the waits of one call. Each takes the call by reference: a step that
// throws leaves it with its caller, which fails it (see `resume`).
void attempt(std::unique_ptr<call>& c);
void after_acquired(std::unique_ptr<call>& c);
void exchange(std::unique_ptr<call>& c);
void read_response(std::unique_ptr<call>& c);
void go_on(std::unique_ptr<call>& c, call::next step);
void complete(std::unique_ptr<call>& c);

// The completion handler of whatever a call waits for. It owns the call meanwhile, and it
// runs on the call's executor with the call's cancellation slot.
struct resume
{
    explicit resume(std::unique_ptr<call> owned) : self(owned.get()), c(std::move(owned)) {}
    resume(resume&&) noexcept = default;
    resume& operator=(resume&&) = delete;

    // An operation whose start threw (an allocation failed) destroys its handler unrun:
    // the call then goes back to the step that started it, which fails it once.
    ~resume()
    {
        if (c && c->initiating)
            (void)c.release();
    }

    using executor_type = asio::any_io_executor;
    executor_type get_executor() const noexcept { return self->ex; }
    using cancellation_slot_type = asio::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept { return self->own_slot(); }
    using allocator_type = op_allocator<void, call_op_slot>;
    allocator_type get_allocator() const noexcept { return allocator_type(self->op_slot); }

    void operator()(error_code ec, std::size_t n = 0)
    {
        run([&](std::unique_ptr<call>& c) { on_io(c, ec, n); });
    }

    void operator()(std::exception_ptr ep, acquired a)
    {
        run([&](std::unique_ptr<call>& c) {
            if (ep)
                std::rethrow_exception(ep);
            c->a = std::move(a);
            c->pool_wait += clock::now() - c->wait_start;
            after_acquired(c);
        });
    }

    void operator()(std::exception_ptr ep, error_code ec)
    {
        run([&](std::unique_ptr<call>& c) {
            if (ep)
                std::rethrow_exception(ep);
            if (ec)
                go_on(c, c->after_connect_failure(ec));
            else
                exchange(c);
        });
    }

    // Runs one step. Only an allocation failure and the like throw here; the call then
    // completes with an error, unless the throw came from the caller's own handler.
    template <class Step>
    void run(Step&& step)
    {
        std::unique_ptr<call> owned = std::move(c);
        owned->went_async = true;
        // What the finished operation left in the slot must not outlive it (as co_await does).
        if (owned->cancellation)
            owned->cancellation->slot().clear();
        try {
            step(owned);
        } catch (...) {
            if (!owned)
                throw;
            fail_internal(owned, std::current_exception());
        }
    }

    // The transport's own failure is a protocol_error (the FAS and Bodhi layers report a
    // failure to read an answer as server_error); the message is the SDK's one wording.
    static void fail_internal(std::unique_ptr<call>& c, std::exception_ptr ep)
    {
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            (void)fedora::detail::internal_failure(c->diag(), e);
        } catch (...) {
            c->diag().message = "internal failure";
        }
        c->result.ec = make_error_code(errc::protocol_error);
        complete(c);
    }

    static void on_io(std::unique_ptr<call>& c, error_code ec, std::size_t n);

    call* self;  // for the associations: Asio reads them before the handler moves
    std::unique_ptr<call> c;
};

// Starts an operation that completes with `resume`; the call belongs to it from then on.
template <class Initiate>
void wait_for(std::unique_ptr<call>& c, waiting_for what, Initiate&& initiate)
{
    call* p = c.get();
    p->waiting = what;
    p->initiating = true;
    try {
        initiate(resume(std::move(c)));
    } catch (...) {
        p->initiating = false;
        c.reset(p);  // ~resume gave it back
        throw;
    }
    // The handler cannot have run yet: it runs on the call's executor, which is running this.
    p->initiating = false;
}

void attempt(std::unique_ptr<call>& c)
{
    if (c->begin_attempt() == call::next::finished)
        return complete(c);
    if (c->acquired_already)
        return after_acquired(c);
    c->wait_start = clock::now();
    wait_for(c, waiting_for::connection, [p = c.get()](resume&& r) {
        asio::co_spawn(p->ex, acquire(*p->pool, p->deadline, p->force_new, p->diag()), std::move(r));
    });
}

void after_acquired(std::unique_ptr<call>& c)
{
    if (c->after_acquire() == call::next::finished)
        return complete(c);
    if (!c->fresh_connection)
        return exchange(c);
    wait_for(c, waiting_for::connect, [p = c.get()](resume&& r) {
        asio::co_spawn(p->ex, open_connection(*p->conn, p->url, p->params.tls.insecure, *p->guard, p->diag()),
                       std::move(r));
    });
}

// Over TLS a body up to this size is written in the head's buffer (see exchange).
constexpr std::size_t tls_body_in_head_limit = 8 * 1024;

// The request's head and body as one buffer sequence, for a TLS stream. Not a
// std::array: Asio writes a two-buffer array with an op of its own that, once the head is
// written, hands the stream an empty first buffer and then the body. Beast's flat_stream
// then writes only that empty buffer, and the write completed with the body unsent (a
// request over 16 KB waited for its deadline). Asio's general op skips written buffers.
struct head_and_body
{
    std::array<asio::const_buffer, 2> buffers;
    const asio::const_buffer* begin() const noexcept { return buffers.data(); }
    const asio::const_buffer* end() const noexcept { return buffers.data() + buffers.size(); }
};

struct cancel_queued_write
{
    explicit cancel_queued_write(call* queued) noexcept : c(queued) {}
    call* c;
    void operator()(asio::cancellation_type) const noexcept { c->write_cancelled = true; }
};

void exchange(std::unique_ptr<call>& c)
{
    c->before_exchange();
    c->out = exchange_outcome{};
    c->interim = 0;
    std::string& head = c->conn->request_head;
    c->write_head(head);
    // Over TLS a small body goes in the head's buffer: the TLS stream would copy both into
    // one record's buffer anyway, and one buffer takes Asio's cheapest write.
    const bool body_in_head = c->conn->secure && c->breq.body().size() <= tls_body_in_head_limit;
    if (body_in_head)
        head += c->breq.body();
    // The write starts from the executor's queue, not from here. Answers come in batches
    // (one reactor wake-up, many connections ready), and each completion may start its
    // caller's next request. Written at once, each request found the server asleep and
    // woke it anew, and the sender pays for the wake-up (perf at 64 connections: 15-23%
    // of the client's CPU). Queued, a batch's requests go out back to back after its
    // answers, and the server wakes once for them all.
    // While the write is queued no operation holds the call's cancellation slot: a
    // cancellation meanwhile is kept here and honoured when the write would start.
    c->write_cancelled = false;
    if (auto slot = c->own_slot(); slot.is_connected())
        slot.template emplace<cancel_queued_write>(c.get());
    wait_for(c, waiting_for::write, [p = c.get(), body_in_head](resume&& r) {
        asio::post(p->ex, [p, body_in_head, r = std::move(r)]() mutable {
            if (p->write_cancelled)
                return std::move(r)(asio::error::operation_aborted, 0);
            // The write's operation takes the slot over.
            const asio::const_buffer head = asio::buffer(p->conn->request_head), body = asio::buffer(p->breq.body());
            if (body_in_head)
                asio::async_write(*p->conn->secure, head, std::move(r));
            else if (p->conn->secure)
                asio::async_write(*p->conn->secure, head_and_body{{head, body}}, std::move(r));
            else
                asio::async_write(*p->conn->plain, std::array<asio::const_buffer, 2>{head, body}, std::move(r));
        });
    });
}

// Reads the final response into the call's parser. Interim 1xx responses (100 Continue,
// 102, 103 Early Hints) are read and dropped, as RFC 9110 §15.2 asks of a client; 101 is
// returned (nothing asked for an upgrade).
void read_response(std::unique_ptr<call>& c)
{
    c->make_parser(c->parser);
    // Beast reads at most what the buffer already holds room for (512 bytes at first, and
    // it never grows while the parser keeps up): a 1 KB answer took three reads and a 5 MB
    // dump ten thousand. Room for a whole small answer, and for 64 KB reads of a streamed
    // one, costs one allocation per connection.
    const std::size_t room = c->parser->get().body().sink ? streamed_read_size : read_size;
    if (c->conn->buffer.capacity() < room)
        c->conn->buffer.reserve(room);
    wait_for(c, waiting_for::read, [p = c.get()](resume&& r) {
        if (p->conn->secure)
            bhttp::async_read(*p->conn->secure, p->conn->buffer, *p->parser, std::move(r));
        else
            bhttp::async_read(*p->conn->plain, p->conn->buffer, *p->parser, std::move(r));
    });
}

void resume::on_io(std::unique_ptr<call>& c, error_code ec, std::size_t n)
{
    exchange_outcome& out = c->out;
    switch (c->waiting) {
    case waiting_for::write:
        out.bytes_sent = n;
        out.ec = ec;
        if (ec)
            return go_on(c, c->after_exchange());
        return read_response(c);
    case waiting_for::read: {
        out.got_response_bytes = out.got_response_bytes || c->parser->got_some() || n > 0;
        out.ec = ec;
        const unsigned status = ec ? 0 : c->parser->get().result_int();
        if (ec || status < 100 || status >= 200 || status == 101)
            return go_on(c, c->after_exchange());
        if (c->interim == max_interim_responses) {
            out.ec = bhttp::error::bad_status;
            return go_on(c, c->after_exchange());
        }
        ++c->interim;
        return read_response(c);
    }
    case waiting_for::backoff:
        if (ec && c->backoff_cancellable) {
            c->fail_with(errc::cancelled, "cancelled during backoff", ec);
            return complete(c);
        }
        return attempt(c);
    case waiting_for::connection:
    case waiting_for::connect:
        break;  // these complete through the other overloads
    }
    throw std::logic_error("a call resumed from an unexpected wait");
}

void go_on(std::unique_ptr<call>& c, call::next step)
{
    switch (step) {
    case call::next::finished:
        return complete(c);
    case call::next::go_on:
    case call::next::again:
        return attempt(c);
    case call::next::backoff:
        c->backoff_timer.emplace(c->ex, c->backoff);
        wait_for(c, waiting_for::backoff, [p = c.get()](resume&& r) { p->backoff_timer->async_wait(std::move(r)); });
        return;
    }
}

// asio::dispatch, without its type-erased function object (an allocation and two indirect
// calls) when the executor is an io_context's running on this thread: the common case of
// a caller on its own event loop, where dispatch runs `f` at once anyway.
template <class Executor, class F>
void dispatch_here(const Executor& ex, F&& f)
{
    using io_executor = asio::io_context::executor_type;
    using io_tracked = asio::io_context::basic_executor_type<std::allocator<void>, 4>;  // outstanding work
    const auto* io = ex.template target<io_executor>();
    const auto* tracked = io ? nullptr : ex.template target<io_tracked>();
    if ((io && io->running_in_this_thread()) || (tracked && tracked->running_in_this_thread()))
        std::forward<F>(f)();
    else
        asio::dispatch(ex, std::forward<F>(f));
}

// Hands the result to the caller's handler, on the handler's executor: at once if the
// call went asynchronous (the caller's initiating function has returned), posted if not.
void complete(std::unique_ptr<call>& c)
{
    auto ex = std::move(c->handler_ex);
    auto work = std::move(c->handler_work);
    const auto own_ex = c->ex;
    const bool went_async = c->went_async;
    auto deliver = [c = std::move(c)]() mutable {
        auto h = std::move(c->handler);
        std::move(h)(c->result.ec, std::move(c->result.resp));
    };
    if (went_async)
        dispatch_here(ex, std::move(deliver));
    else  // through the call's own executor: Asio cannot post to an any_completion_executor
        asio::post(own_ex, [ex = std::move(ex), work = std::move(work), deliver = std::move(deliver)]() mutable {
            asio::dispatch(ex, std::move(deliver));
        });
}

// The first step, on the call's executor.
struct start_call
{
    std::unique_ptr<call> c;

    void operator()()
    {
        call* p = c.get();
        try {
            if (p->prepare() == call::next::finished)
                return complete(c);
            attempt(c);
        } catch (...) {
            if (!c)
                throw;
            resume::fail_internal(c, std::current_exception());
        }
    }
};

} // namespace

void spawn_call(std::shared_ptr<client_impl> impl, request&& req,
                asio::any_completion_handler<client::completion_signature> handler,
                std::optional<handoff> first)
{
    auto call_ex = impl->call_executor();
    auto slot = asio::get_associated_cancellation_slot(handler);
    // Checked: Asio 1.81 may hand back an empty executor when an allocation fails here.
    auto handler_ex = fedora::detail::associated_executor_checked(handler, call_ex);
    auto c = std::make_unique<call>(std::move(impl), std::move(req), std::move(first));
    c->handler.swap(handler);  // Asio 1.81's move assignment recurses without end
    c->ex = call_ex;
    // Pending operations keep the call's own io_context running; a handler that runs
    // elsewhere needs its context kept running too, as co_spawn or async_compose would.
    const auto* own = call_ex.target<asio::io_context::executor_type>();
    const auto* theirs = handler_ex.target<asio::io_context::executor_type>();
    if (!own || !theirs || &own->context() != &theirs->context())
        c->handler_work = asio::prefer(handler_ex, asio::execution::outstanding_work.tracked);
    c->handler_ex = std::move(handler_ex);
    if (slot.is_connected()) {
        c->cancellation = std::make_shared<asio::cancellation_signal>();
        slot.template emplace<forward_cancellation>(c->cancellation, call_ex);
    }
    dispatch_here(call_ex, start_call{std::move(c)});
}

void start_all(std::vector<to_start>& calls)
{
    for (auto& t : calls) {
        auto call = std::move(t.call);
        spawn_call(std::move(call->impl), std::move(call->req), std::move(call->handler), std::move(t.h));
    }
    calls.clear();
}

namespace {

// Cancels a call while it is queued; once it runs, spawn_call takes the slot over.
struct cancel_queued_call
{
    cancel_queued_call(const std::shared_ptr<origin_pool>& p, const std::shared_ptr<waiter>& w)
        : pool(p), queued(w)
    {
    }

    std::weak_ptr<origin_pool> pool;
    std::weak_ptr<waiter> queued;

    void operator()(asio::cancellation_type)
    {
        auto p = pool.lock();
        auto w = queued.lock();
        if (p && w)
            p->cancel_queued(w);
    }
};

} // namespace

// A call that can have a connection (or the right to open one) now starts at once; one
// that cannot waits in the pool's queue as a request and a handler, without call state.
void enqueue_or_spawn(std::shared_ptr<client_impl> impl, request&& req,
                      asio::any_completion_handler<client::completion_signature> handler)
{
    std::shared_ptr<origin_pool> pool;
    if ((req.url.scheme_id() == boost::urls::scheme::http ||
         req.url.scheme_id() == boost::urls::scheme::https) &&
        !req.url.host_address().empty())
        pool = impl->pool_for(origin_key(req.url).view());
    if (!pool) {
        spawn_call(std::move(impl), std::move(req), std::move(handler), std::nullopt);  // it says why
        return;
    }
    handoff h;
    h.pool = pool;
    {
        std::lock_guard lock(pool->mutex);
        if (pool->closed) {
            h.ec = make_error_code(errc::client_closed);
            h.message = "the client was shut down";
        } else if (!pool->take_now(false, h)) {
            if (pool->waiters.size() >= pool->params.max_waiting_per_origin) {
                ++pool->counters.queue_rejections;
                h.ec = make_error_code(errc::queue_full);
                h.message = "all connections busy and the wait queue is full";
            } else {
                const auto timeout = req.timeout.count() > 0 ? req.timeout : impl->params.default_timeout;
                auto slot = asio::get_associated_cancellation_slot(handler);
                auto w = std::make_shared<waiter>();
                w->call.reset(new queued_call{std::move(impl), std::move(req), std::move(handler), h.start,
                                              h.start + timeout});
                if (slot.is_connected())
                    slot.template emplace<cancel_queued_call>(pool, w);
                pool->arm_expiry(w->call->deadline);
                pool->waiters.push_back(std::move(w));
                return;
            }
        }
    }
    spawn_call(std::move(impl), std::move(req), std::move(handler), std::move(h));
}

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

void client::start(std::shared_ptr<detail::client_impl> impl, request&& req,
                   boost::asio::any_completion_handler<completion_signature> handler)
{
    detail::enqueue_or_spawn(std::move(impl), std::move(req), std::move(handler));
}

} // namespace fedora::http
