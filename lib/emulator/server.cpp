#include <fedora/emulator/certificates.hpp>
#include <fedora/emulator/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <zlib.h>

#include <sstream>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace fedora::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct server::impl
{
    explicit impl(server_params p) : params(std::move(p)) {}

    server_params params;
    std::string cert_dir;
    std::string ca_path;
    std::optional<asio::ssl::context> tls;
    std::map<std::string, asio::ssl::context> sni_contexts;  // by SNI name

    mutable std::mutex mutex;  // guards everything below
    std::vector<std::pair<std::string, std::shared_ptr<application>>> mounts;  // longest first
    struct armed_fault
    {
        std::string prefix;
        fault f;
        std::size_t remaining;
    };
    std::vector<armed_fault> faults;
    server_stats stats;
    std::optional<http_request> last;
    std::map<std::string, http_request> last_by_path;

    std::uint16_t bound_port = 0;
    bool running = false;

    // Declared last: destroying it destroys pending sessions while the state above lives.
    asio::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    std::vector<std::thread> threads;

    std::shared_ptr<application> route(std::string_view path, std::string& rest)
    {
        std::lock_guard lock(mutex);
        for (auto& [prefix, app] : mounts) {
            if (path.substr(0, prefix.size()) == prefix &&
                (path.size() == prefix.size() || prefix.empty() || prefix.back() == '/' ||
                 path[prefix.size()] == '/')) {
                rest = std::string(path.substr(prefix.size()));
                if (rest.empty() || rest.front() != '/')
                    rest.insert(rest.begin(), '/');
                return app;
            }
        }
        return nullptr;
    }

    fault take_fault(std::string_view path)
    {
        std::lock_guard lock(mutex);
        for (auto it = faults.begin(); it != faults.end(); ++it) {
            if (path.substr(0, it->prefix.size()) == it->prefix) {
                fault f = it->f;
                if (it->remaining > 0 && --it->remaining == 0)
                    faults.erase(it);
                return f;
            }
        }
        return {};
    }

    void record(const http_request& req, std::string_view path)
    {
        std::lock_guard lock(mutex);
        ++stats.requests_total;
        ++stats.requests_per_path[std::string(path)];
        if (params.record_requests) {
            last = req;
            last_by_path[std::string(path)] = req;
        }
    }

    // SNI callback: switches the connection to the certificate registered for the name.
    static int choose_certificate(SSL* ssl, int*, void* arg)
    {
        auto* self = static_cast<impl*>(arg);
        const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        if (name) {
            auto it = self->sni_contexts.find(name);
            if (it != self->sni_contexts.end())
                SSL_set_SSL_CTX(ssl, it->second.native_handle());
        }
        return SSL_TLSEXT_ERR_OK;
    }

    std::string origin() const
    {
        return std::string(params.tls ? "https://" : "http://") +
               (params.tls ? params.tls_host_name : params.host) + ":" +
               std::to_string(bound_port);
    }
};

namespace {

bool accepts_gzip(const http_request& req)
{
    const auto v = req[bhttp::field::accept_encoding];
    return v.find("gzip") != boost::beast::string_view::npos;
}

// Gzips the body in place (fast level: the emulator is also a benchmark peer).
bool gzip_body(http_response& res)
{
    z_stream zs{};
    if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    const std::string& in = res.body();
    std::string out(deflateBound(&zs, in.size()), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        return false;
    res.body() = std::move(out);
    res.set(bhttp::field::content_encoding, "gzip");
    return true;
}

http_response plain_answer(unsigned status, std::string body, bool keep_alive)
{
    http_response res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::server, "fedora-emulator");
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

std::string serialize(const http_response& res)
{
    std::ostringstream os;
    os << res;
    return os.str();
}

template <class Stream>
void close_stream(Stream& stream)
{
    error_code ignored;
    beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream).close(ignored);
}

// Waits until the peer closes (or the server stops), answering nothing.
template <class Stream>
asio::awaitable<void> stall(Stream& stream)
{
    char sink[512];
    for (;;) {
        auto [ec, n] = co_await beast::get_lowest_layer(stream).async_read_some(
            asio::buffer(sink), tuple_awaitable);
        if (ec)
            co_return;
    }
}

template <class Stream>
asio::awaitable<void> write_raw(Stream& stream, std::string_view bytes)
{
    co_await asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()), tuple_awaitable);
}

// Applies a fault; returns true when the connection must be closed afterwards.
template <class Stream>
asio::awaitable<bool> answer_with_fault(Stream& stream, const fault& f, http_response res)
{
    auto ex = co_await asio::this_coro::executor;
    switch (f.kind) {
    case fault_kind::stall:
        co_await stall(stream);
        co_return true;
    case fault_kind::close_before_response:
        co_return true;
    case fault_kind::close_after_bytes: {
        auto bytes = serialize(res);
        co_await write_raw(stream, std::string_view(bytes).substr(0, std::min(f.bytes, bytes.size())));
        co_return true;
    }
    case fault_kind::malformed_json: {
        auto body = res.body();
        if (body.size() < 2)
            body = "{\"";
        res.body() = body.substr(0, body.size() / 2);
        res.set(bhttp::field::content_type, "application/json");
        res.prepare_payload();
        auto [ec, n] = co_await bhttp::async_write(stream, res, tuple_awaitable);
        co_return ec || !res.keep_alive();
    }
    case fault_kind::server_error_html: {
        auto err = plain_answer(f.status ? f.status : 503,
                                "<html><head><title>Service Unavailable</title></head><body>"
                                "<h1>Service Unavailable</h1><p>The server is temporarily "
                                "unable to service your request.</p></body></html>",
                                res.keep_alive());
        auto [ec, n] = co_await bhttp::async_write(stream, err, tuple_awaitable);
        co_return ec || !err.keep_alive();
    }
    case fault_kind::status_with_retry_after: {
        auto err = plain_answer(f.status ? f.status : 503, "<html><body>busy</body></html>",
                                res.keep_alive());
        err.set(bhttp::field::retry_after, std::to_string(f.retry_after_seconds));
        auto [ec, n] = co_await bhttp::async_write(stream, err, tuple_awaitable);
        co_return ec || !err.keep_alive();
    }
    case fault_kind::wrong_content_length: {
        res.content_length(res.body().size() + 100);
        res.keep_alive(true);
        co_await write_raw(stream, serialize(res));
        co_return true;
    }
    case fault_kind::broken_chunked: {
        std::string head = "HTTP/1.1 200 OK\r\nServer: fedora-emulator\r\n"
                           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5\r\n{\"a\":\r\nzz-not-hex\r\n1}\r\n0\r\n\r\n";
        co_await write_raw(stream, head);
        co_return true;
    }
    case fault_kind::trickle: {
        auto bytes = serialize(res);
        asio::steady_timer timer(ex);
        for (char c : bytes) {
            auto [ec, n] = co_await asio::async_write(stream, asio::buffer(&c, 1), tuple_awaitable);
            if (ec)
                co_return true;
            timer.expires_after(f.delay);
            co_await timer.async_wait(tuple_awaitable);
        }
        co_return !res.keep_alive();
    }
    case fault_kind::redirect_other_origin: {
        auto redirect = plain_answer(302, "", res.keep_alive());
        redirect.set(bhttp::field::location, f.location);
        auto [ec, n] = co_await bhttp::async_write(stream, redirect, tuple_awaitable);
        co_return ec || !redirect.keep_alive();
    }
    case fault_kind::latency:
    case fault_kind::none:
        break;
    }
    auto [ec, n] = co_await bhttp::async_write(stream, res, tuple_awaitable);
    co_return ec || !res.keep_alive();
}

template <class Stream>
asio::awaitable<void> serve(server::impl& self, Stream& stream, bool tls)
{
    beast::flat_buffer buffer;
    const std::string origin = self.origin();
    std::optional<asio::steady_timer> idle_timer;
    // The timer's handler may run after the read it guarded has finished (or after this
    // coroutine is gone); it acts only while the generation it was armed for is current.
    auto generation = std::make_shared<std::uint64_t>(0);
    struct retire
    {
        std::shared_ptr<std::uint64_t> g;
        ~retire() { *g = ~std::uint64_t{0}; }
    } retire_generation{generation};
    if (self.params.idle_timeout.count() > 0)
        idle_timer.emplace(co_await asio::this_coro::executor);
    for (bool first = true;; first = false) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(64 * 1024);
        parser.body_limit(16 * 1024 * 1024);
        if (idle_timer && !first) {
            idle_timer->expires_after(self.params.idle_timeout);
            idle_timer->async_wait([&stream, generation, armed = *generation](error_code ec) {
                if (!ec && *generation == armed)
                    close_stream(stream);
            });
        }
        auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, tuple_awaitable);
        ++*generation;
        if (idle_timer)
            idle_timer->cancel();
        if (ec) {
            if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated) {
                std::lock_guard lock(self.mutex);
                ++self.stats.connections_closed_by_peer;
            } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() ||
                       ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
                auto res = plain_answer(ec == bhttp::error::body_limit ? 413 : 400,
                                        "<html><body>Bad Request</body></html>", false);
                co_await bhttp::async_write(stream, res, tuple_awaitable);
            }
            co_return;
        }
        http_request req = parser.release();
        std::string_view target = req.target();
        const auto qpos = target.find('?');
        std::string_view path = target.substr(0, qpos);
        self.record(req, path);

        request_context ctx;
        ctx.query = qpos == std::string_view::npos ? std::string() : std::string(target.substr(qpos + 1));
        ctx.origin = origin;
        ctx.tls = tls;
        fault f = self.take_fault(path);
        if (f.kind == fault_kind::latency || (f.kind == fault_kind::trickle && f.delay.count() == 0)) {
            asio::steady_timer timer(co_await asio::this_coro::executor, f.delay);
            co_await timer.async_wait(tuple_awaitable);
        }

        http_response res;
        if (auto app = self.route(path, ctx.path_in_app)) {
            try {
                res = app->handle(req, ctx);
            } catch (const std::exception&) {
                res = plain_answer(500, "<html><body>Internal Server Error</body></html>", true);
            }
        } else {
            res = plain_answer(404, "<html><body>Not Found</body></html>", true);
        }
        if (res.find(bhttp::field::server) == res.end())
            res.set(bhttp::field::server, "fedora-emulator");
        res.version(11);
        res.keep_alive(req.keep_alive() && res.keep_alive());
        if (self.params.gzip && res.body().size() > 1024 && !res.chunked() &&
            res.find(bhttp::field::content_encoding) == res.end() && accepts_gzip(req))
            if (gzip_body(res))
                res.erase(bhttp::field::content_length);
        if (!res.has_content_length() && !res.chunked())
            res.prepare_payload();

        bool close = co_await answer_with_fault(stream, f, std::move(res));
        if (close) {
            close_stream(stream);
            co_return;
        }
    }
}

asio::awaitable<void> session(server::impl& self, tcp::socket socket)
{
    struct open_count
    {
        server::impl& s;
        ~open_count()
        {
            std::lock_guard lock(s.mutex);
            --s.stats.connections_open;
        }
    } counter{self};
    socket.set_option(tcp::no_delay(true));
    if (self.tls) {
        beast::ssl_stream<tcp::socket> stream(std::move(socket), *self.tls);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, tuple_awaitable);
        {
            const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
            std::lock_guard lock(self.mutex);
            ++self.stats.tls_server_names[sni ? sni : ""];
            if (ec)
                ++self.stats.tls_handshakes_failed;
        }
        if (ec)
            co_return;
        co_await serve(self, stream, true);
    } else {
        co_await serve(self, socket, false);
    }
}

asio::awaitable<void> accept_loop(server::impl& self)
{
    for (;;) {
        auto [ec, socket] = co_await self.acceptor->async_accept(
            asio::make_strand(self.ioc), tuple_awaitable);
        if (ec) {
            if (ec == asio::error::operation_aborted || !self.acceptor->is_open())
                co_return;
            continue;  // e.g. EMFILE: keep serving the connections we have
        }
        {
            std::lock_guard lock(self.mutex);
            if (self.params.max_connections && self.stats.connections_open >= self.params.max_connections) {
                error_code ignored;
                socket.close(ignored);
                continue;
            }
            ++self.stats.connections_accepted;
            ++self.stats.connections_open;
            self.stats.connections_peak = std::max(self.stats.connections_peak, self.stats.connections_open);
        }
        auto ex = socket.get_executor();
        asio::co_spawn(ex, session(self, std::move(socket)), asio::detached);
    }
}

std::string make_temp_dir()
{
    std::string templ = (std::filesystem::temp_directory_path() / "fedora-emulator-XXXXXX").string();
    if (!::mkdtemp(templ.data()))
        throw std::runtime_error("cannot create a temporary directory");
    return templ;
}

} // namespace

server::server(server_params params) : impl_(std::make_shared<impl>(std::move(params))) {}

server::~server()
{
    stop();
    // A certificate directory the server made for itself goes with it.
    if (impl_->params.tls && impl_->params.cert_dir.empty() && !impl_->cert_dir.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(impl_->cert_dir, ignored);
    }
}

void server::start()
{
    auto& s = *impl_;
    if (s.running)
        return;
    if (s.params.tls) {
        s.cert_dir = s.params.cert_dir.empty() ? make_temp_dir() : s.params.cert_dir;
        pem_pair ca = s.params.certificate ? pem_pair{} : make_ca("fedora-emulator test CA");
        pem_pair leaf = s.params.certificate ? *s.params.certificate
                                             : make_certificate(ca, [&] {
                                                   cert_request r;
                                                   r.common_name = s.params.tls_host_name;
                                                   r.dns_names = {s.params.tls_host_name};
                                                   r.ip_addresses = {s.params.host};
                                                   return r;
                                               }());
        if (!s.params.certificate) {
            s.ca_path = s.cert_dir + "/ca.pem";
            write_file(s.ca_path, ca.cert_pem, false);
        }
        auto make_context = [&s](const pem_pair& cert) {
            asio::ssl::context ctx(asio::ssl::context::tls_server);
            SSL_CTX_set_min_proto_version(ctx.native_handle(), s.params.min_tls_version);
            if (s.params.max_tls_version)
                SSL_CTX_set_max_proto_version(ctx.native_handle(), s.params.max_tls_version);
            // OpenSSL 3 refuses TLS 1.0/1.1 at the default security level on the server
            // side too; a server made to offer only those must really offer them, so that
            // refusing is the client's decision.
            if (s.params.min_tls_version && s.params.min_tls_version < TLS1_2_VERSION) {
                SSL_CTX_set_security_level(ctx.native_handle(), 0);
                SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT:@SECLEVEL=0");
            }
            ctx.use_certificate_chain(asio::buffer(cert.cert_pem));
            ctx.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
            return ctx;
        };
        s.tls.emplace(make_context(leaf));
        for (const auto& [name, cert] : s.params.sni_certificates)
            s.sni_contexts.emplace(name, make_context(cert));
        if (!s.sni_contexts.empty()) {
            SSL_CTX_set_tlsext_servername_callback(s.tls->native_handle(), &impl::choose_certificate);
            SSL_CTX_set_tlsext_servername_arg(s.tls->native_handle(), &s);
        }
    }
    auto address = asio::ip::make_address(s.params.host);
    s.acceptor.emplace(s.ioc);
    tcp::endpoint ep(address, s.params.port);
    s.acceptor->open(ep.protocol());
    s.acceptor->set_option(tcp::acceptor::reuse_address(true));
    s.acceptor->bind(ep);
    s.acceptor->listen(asio::socket_base::max_listen_connections);
    s.bound_port = s.acceptor->local_endpoint().port();
    if (s.params.accept)
        asio::co_spawn(s.ioc, accept_loop(s), asio::detached);
    s.running = true;
    // Keeps run() alive while the server waits without accepting.
    auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
        s.ioc.get_executor());
    for (unsigned i = 0; i < std::max(1u, s.params.threads); ++i)
        s.threads.emplace_back([&s, work] { s.ioc.run(); });
}

void server::stop()
{
    auto& s = *impl_;
    if (!s.running)
        return;
    s.running = false;
    asio::post(s.ioc, [&s] {
        error_code ignored;
        s.acceptor->close(ignored);
    });
    s.ioc.stop();
    for (auto& t : s.threads)
        t.join();
    s.threads.clear();
}

void server::mount(std::string prefix, std::shared_ptr<application> app)
{
    while (prefix.size() > 1 && prefix.back() == '/')
        prefix.pop_back();
    if (prefix == "/")
        prefix.clear();
    std::lock_guard lock(impl_->mutex);
    auto& m = impl_->mounts;
    std::erase_if(m, [&](const auto& e) { return e.first == prefix; });
    m.emplace_back(std::move(prefix), std::move(app));
    std::sort(m.begin(), m.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void server::set_fault(std::string path_prefix, fault f)
{
    std::lock_guard lock(impl_->mutex);
    impl_->faults.push_back({std::move(path_prefix), f, f.count});
}

void server::clear_faults()
{
    std::lock_guard lock(impl_->mutex);
    impl_->faults.clear();
}

std::uint16_t server::port() const { return impl_->bound_port; }
std::string server::origin() const { return impl_->origin(); }
std::string server::ca_file() const { return impl_->ca_path; }

server_stats server::stats() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

void server::reset_stats()
{
    std::lock_guard lock(impl_->mutex);
    auto open = impl_->stats.connections_open;
    impl_->stats = {};
    impl_->stats.connections_open = open;
    impl_->last.reset();
    impl_->last_by_path.clear();
}

std::optional<http_request> server::last_request() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->last;
}

std::optional<http_request> server::last_request(const std::string& path_prefix) const
{
    std::lock_guard lock(impl_->mutex);
    std::optional<http_request> found;
    // The map is keyed by path; the last one recorded under the prefix is what tests mean
    // when they name one route, so prefer an exact match.
    auto exact = impl_->last_by_path.find(path_prefix);
    if (exact != impl_->last_by_path.end())
        return exact->second;
    if (impl_->last && std::string_view(impl_->last->target()).substr(0, path_prefix.size()) == path_prefix)
        return impl_->last;
    for (auto& [path, req] : impl_->last_by_path)
        if (path.compare(0, path_prefix.size(), path_prefix) == 0)
            found = req;
    return found;
}

} // namespace fedora::emulator
