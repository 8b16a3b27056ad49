#include "core.hpp"
#include "../detail/completion.hpp"
#include "../detail/json_read.hpp"
#include "json_dump_sink.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fedora::fas {
namespace detail {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using fedora::detail::continue_on;

namespace {

constexpr std::string_view session_cookie = "tg-visit";

std::string base64(std::string_view in)
{
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// A cookie value goes into a header: only RFC 6265 cookie-octets.
bool valid_cookie_value(std::string_view v)
{
    for (unsigned char c : v)
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            return false;
    return true;
}

std::string snippet(std::string_view body)
{
    return mask_secrets(body.substr(0, 1024));
}

// All an answer's handling reads of its header: the session cookie, and the type and
// length that json_dump_sink::accept looks at. The transport keeps what it reads itself.
constexpr http::field_set fas_reads{bhttp::field::set_cookie, bhttp::field::content_type,
                                    bhttp::field::content_length};

// The FAS session an answer set: the last tg-visit of its Set-Cookie headers, wherever they
// stand among the other headers (a lookup by name would find the first and then follow
// the fields in the order received), found by the parsed name without comparing strings.
std::string session_set_by(const http::response& resp)
{
    std::string session;
    for (const auto& field : resp.message) {
        if (field.name() != bhttp::field::set_cookie)
            continue;
        std::string_view v = field.value();
        v = v.substr(0, v.find(';'));
        auto eq = v.find('=');
        if (eq != std::string_view::npos && v.substr(0, eq) == session_cookie)
            session.assign(v.substr(eq + 1));
    }
    return session;
}

// Completes `handler` later, on its own executor (never inside the initiating call).
void complete_later(const asio::any_io_executor& fallback, raw_handler handler, error_code ec,
                    raw_reply r)
{
    auto ex = fedora::detail::associated_executor_checked(handler, fallback);
    asio::post(fallback, asio::bind_executor(ex, [h = std::move(handler), ec, r = std::move(r)]() mutable {
                   std::move(h)(ec, std::move(r));
               }));
}

} // namespace

fas_core::fas_core(std::shared_ptr<http::client> t, client_params p)
    : transport(std::move(t)),
      params(std::move(p)),
      urls(fedora::detail::base_url_of(params.base_url, "fedora::fas")),
      origin(http::origin_of(urls.base()))
{
    if (!transport)
        throw std::invalid_argument("fedora::fas: no transport");
}

error_code read_fas_answer(http::response& resp, raw_reply& out, json_dump_sink* sink)
{
    out.status = resp.status();
    out.diag.http_status = resp.status();
    out.session_id = session_set_by(resp);
    const std::string& body = resp.message.body();
    if (out.status == 401 || out.status == 403) {
        out.diag.message = "FAS refused the identity";
        return make_error_code(errc::auth_error);
    }
    if (out.status >= 400) {
        out.diag.message = "FAS answered with an error status";
        out.diag.body_snippet = snippet(body);
        return make_error_code(errc::server_error);
    }
    error_code ec;
    json::parse_options opt;
    opt.max_depth = 64;
    if (resp.body_streamed && sink) {
        fedora::detail::json_read::adopt(out.body, sink->take_rest());
        out.streamed = true;
    } else {
        // One arena per answer: the DOM's few dozen nodes and strings are bump-allocated
        // from it and freed together with the result that keeps them (`raw`), instead of
        // one malloc and one free each. The arena holds the whole answer until then, as the
        // DOM did; a typical answer's DOM is about twice its text.
        auto parsed = json::parse(
            body, ec, json::make_shared_resource<json::monotonic_resource>(2 * body.size() + 512), opt);
        fedora::detail::json_read::adopt(out.body, std::move(parsed));
    }
    if (ec) {
        out.diag.message = "the answer is not JSON: " + ec.message();
        out.diag.body_snippet = snippet(body);
        return make_error_code(errc::server_error);
    }
    if (auto* obj = out.body.if_object()) {
        if (auto* exc = obj->if_contains("exc")) {
            out.diag.app_error_name = exc->is_string() ? std::string(exc->get_string()) : json::serialize(*exc);
            if (auto* flash = obj->if_contains("tg_flash"); flash && flash->is_string())
                out.diag.message = std::string(flash->get_string());
            else
                out.diag.message = out.diag.app_error_name;
            for (auto& [k, v] : *obj)
                if (k != "exc" && k != "tg_flash")
                    out.diag.extras[k] = v;
            return make_error_code(errc::app_error);
        }
    }
    return {};
}

error_code build_http_request(const fas_core& core, const operation_request& req,
                              const auth_params& auth, http::request& out, diagnostics& diag)
{
    out.url = core.urls.join(req.path);
    // The transport fills diag.url for calls it runs; this is for the refused ones.
    auto refuse = [&](errc e, std::string message) {
        diag.url = http::redact_url(out.url);
        diag.message = std::move(message);
        diag.may_have_reached_server = false;
        return make_error_code(e);
    };
    if (req.refused)
        return refuse(static_cast<errc>(req.refused.value()), req.refused_message);
    if (auth.username.empty() != auth.password.empty())
        return refuse(errc::auth_error, "username and password must both be set");
    const bool send_session = auth.has_session() && !req.credentials_only;
    if (req.needs_auth && !send_session && !auth.has_credentials())
        return refuse(errc::auth_error, "this call needs a session id or a username and password");
    // RFC 7617: the user-id of Basic credentials cannot contain ':', the server would split
    // the name there and take the rest for the password.
    if (auth.has_credentials() && auth.http_basic && auth.username.find(':') != std::string::npos)
        return refuse(errc::invalid_argument, "a user name for HTTP Basic cannot contain ':'");
    if (send_session && !valid_cookie_value(auth.session_id))
        return refuse(errc::invalid_argument, "the session id has characters a cookie cannot carry");

    out.method = bhttp::verb::post;
    out.headers.set(bhttp::field::accept, "application/json");
    if (!core.params.user_agent.empty())
        out.headers.set(bhttp::field::user_agent, core.params.user_agent);
    // The operation's own fields first, then the identity's, as python-fedora sent them.
    out.body = req.form.encode();
    auto next_field = [&] {
        if (!out.body.empty())
            out.body.push_back('&');
    };
    if (send_session) {
        out.headers.set(bhttp::field::cookie, std::string(session_cookie) + "=" + auth.session_id);
        next_field();
        out.body.append("_csrf_token=").append(csrf_token_for(auth.session_id));  // hex: nothing to encode
    }
    if (auth.has_credentials()) {
        if (auth.http_basic) {
            out.headers.set(bhttp::field::authorization, "Basic " + base64(auth.username + ":" + auth.password));
        } else {
            http::form login;
            login.add("user_name", auth.username);
            login.add("password", auth.password);
            login.add("login", "Login");
            next_field();
            out.body += login.encode();
        }
    }
    if (!out.body.empty())
        out.headers.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    out.safe_to_repeat = req.safe_to_repeat;
    if (req.safe_to_repeat)
        out.retry = core.params.read_retry;
    out.timeout = core.params.timeout;
    out.sink = req.sink;
    out.response_fields = fas_reads;
    return {};
}

// ---- identity and the session store ------------------------------------------------

identity::identity(std::shared_ptr<fas_core> c, account_params p)
    : core(std::move(c)),
      username(std::move(p.username)),
      password(std::move(p.password)),
      http_basic(p.http_basic),
      store_path(std::move(p.session_store)),
      session_(std::move(p.session_id))
{
    if (username.empty() && !password.empty())
        throw std::invalid_argument("account_system: a password without a username");
    if (session_.empty() && !store_path.empty() && !username.empty())
        session_ = load_stored_session(store_path, core->origin + " " + username);
}

auth_params identity::current() const
{
    std::lock_guard lock(mutex_);
    if (!session_.empty())
        return auth_params::session(session_);
    return auth_params::credentials(username, password, http_basic);
}

std::string identity::session() const
{
    std::lock_guard lock(mutex_);
    return session_;
}

void identity::adopt(const std::string& session_id)
{
    if (session_id.empty())
        return;
    {
        std::lock_guard lock(mutex_);
        if (session_ == session_id)
            return;
        session_ = session_id;
    }
    if (!store_path.empty() && !username.empty())
        store_session(store_path, core->origin + " " + username, session_id);
}

void identity::forget(const std::string& session_id)
{
    {
        std::lock_guard lock(mutex_);
        if (session_ != session_id)
            return;
        session_.clear();
    }
    if (!store_path.empty() && !username.empty())
        store_session(store_path, core->origin + " " + username, "");
}

namespace {

// The store is trusted only if it is a regular file of ours that nobody else can write.
bool safe_store(const std::string& path)
{
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0)
        return false;
    return S_ISREG(st.st_mode) && st.st_uid == ::geteuid() && (st.st_mode & 0077) == 0;
}

json::object read_store(const std::string& path)
{
    if (!safe_store(path))
        return {};
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    error_code ec;
    auto v = json::parse(ss.str(), ec);
    if (ec || !v.is_object())
        return {};
    return std::move(v.get_object());
}

} // namespace

std::string load_stored_session(const std::string& path, const std::string& key)
{
    auto o = read_store(path);
    if (auto* v = o.if_contains(key); v && v->is_string())
        return std::string(v->get_string());
    return {};
}

void store_session(const std::string& path, const std::string& key, const std::string& session_id)
{
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && !safe_store(path))
        return;  // someone else's or too open: neither trusted nor overwritten
    auto o = read_store(path);
    if (session_id.empty())
        o.erase(key);
    else
        o[key] = session_id;
    // A temporary name of its own for every write (mkstemp: O_EXCL, mode 0600): with one
    // name per process, two threads storing at once wrote into the same file and could
    // rename a mix of both texts into place.
    std::string tmp = path + ".tmp.XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0)
        return;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    const std::string text = json::serialize(o);
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
        ::unlink(tmp.c_str());
}

} // namespace detail

// ---- the generic path --------------------------------------------------------------

namespace asio = boost::asio;

namespace detail {
namespace {

// Sends one FAS request. Redirects are followed here rather than in the transport, because
// the follow-up must carry the session the redirect itself may have set (a login in the
// same request), and only ever to FAS's own origin.
void send_fas(std::shared_ptr<fas_core> core, http::request&& hreq, std::string session, unsigned redirects_left,
              bool follow, std::shared_ptr<json_dump_sink> sink, raw_handler handler)
{
    const auto fallback = core->transport->get_executor();
    hreq.max_redirects = 0;
    auto transport = core->transport;
    transport->async_send(
        std::move(hreq),
        continue_on(handler, fallback)([core, session = std::move(session), redirects_left, follow,
                                        sink = std::move(sink), h = std::move(handler)](error_code ec, http::response&& resp) mutable {
            const unsigned status = resp.status();
            if (!ec && follow && (status == 301 || status == 302 || status == 303) &&
                resp.message.find(bhttp::field::location) != resp.message.end()) {
                raw_reply out;
                out.diag = std::move(resp.diag);
                auto ref = boost::urls::parse_uri_reference(resp.message[bhttp::field::location]);
                boost::urls::url next;
                if (redirects_left == 0 || !ref || !boost::urls::resolve(resp.final_url, *ref, next) ||
                    http::origin_of(next) != core->origin) {
                    out.diag.message = redirects_left == 0 ? "too many redirects"
                                                           : "FAS redirected to another origin; not followed";
                    std::move(h)(make_error_code(errc::redirect_error), std::move(out));
                    return;
                }
                if (auto fresh = session_set_by(resp); !fresh.empty())
                    session = std::move(fresh);
                http::request get;
                get.method = bhttp::verb::get;
                get.url = std::move(next);
                get.headers.set(bhttp::field::accept, "application/json");
                if (!core->params.user_agent.empty())
                    get.headers.set(bhttp::field::user_agent, core->params.user_agent);
                if (!session.empty())
                    get.headers.set(bhttp::field::cookie, std::string(session_cookie) + "=" + session);
                get.safe_to_repeat = true;  // reading the page the write led to
                get.timeout = core->params.timeout;
                get.sink = sink;
                get.response_fields = fas_reads;
                auto c = core;
                send_fas(std::move(c), std::move(get), std::move(session), redirects_left - 1, true,
                         std::move(sink), std::move(h));
                return;
            }
            raw_reply out;
            out.diag = std::move(resp.diag);
            if (ec && sink && out.diag.body_snippet.empty() && !sink->body().empty())
                out.diag.body_snippet = snippet(sink->body());  // what a one-record answer's sink kept
            if (!ec) {
                try {
                    ec = read_fas_answer(resp, out, sink.get());
                } catch (const std::exception& e) {  // allocation failure: complete, do not lose the handler
                    ec = fedora::detail::internal_failure(out.diag, e);
                }
            }
            if (out.session_id.empty() && !ec)
                out.session_id = session;  // set by a redirect on the way
            std::move(h)(ec, std::move(out));
        }));
}

} // namespace
} // namespace detail

namespace detail {

prepared_operation prepare_operation(const fas_core& core, const operation_request& req,
                                     const auth_params& auth)
{
    prepared_operation p;
    p.refused = build_http_request(core, req, auth, p.http, p.refusal.diag);
    p.follow_redirects = req.follow_redirects;
    p.sink = req.sink;
    return p;
}

void send_prepared(std::shared_ptr<fas_core> core, prepared_operation&& op, raw_handler handler)
{
    if (op.refused) {
        const auto fallback = core->transport->get_executor();
        complete_later(fallback, std::move(handler), op.refused, std::move(op.refusal));
        return;
    }
    send_fas(std::move(core), std::move(op.http), std::string(), 5, op.follow_redirects, std::move(op.sink),
             std::move(handler));
}

} // namespace detail

void proxy_client::start(std::shared_ptr<detail::fas_core> core, operation_request req,
                         auth_params auth, detail::raw_handler handler)
{
    auto prepared = detail::prepare_operation(*core, req, auth);
    detail::send_prepared(std::move(core), std::move(prepared), std::move(handler));
}

proxy_client::proxy_client(asio::any_io_executor executor, client_params params)
    : proxy_client(std::make_shared<http::client>(executor, params.http), params)
{
}

proxy_client::proxy_client(std::shared_ptr<http::client> transport, client_params params)
    : core_(std::make_shared<detail::fas_core>(std::move(transport), std::move(params)))
{
}

asio::any_io_executor proxy_client::get_executor() const { return core_->transport->get_executor(); }
const std::shared_ptr<http::client>& proxy_client::transport() const noexcept { return core_->transport; }

} // namespace fedora::fas
