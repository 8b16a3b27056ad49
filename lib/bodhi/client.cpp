// The generic path every Bodhi operation runs through: detection, identity (Bodhi 1 form
// login and tg-visit, Bodhi 2 OpenID login, cookies and CSRF), one exchange, the version's
// common checks. Plus the few logical operations that take several requests.
//
// (Coroutine calls get named locals, never temporaries: GCC 12 destroys a temporary
// argument of a coroutine call twice.)
#include "core.hpp"
#include "../detail/completion.hpp"
#include "model.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace fedora::bodhi {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using detail::bodhi_core;
using fedora::detail::continue_on;
using fedora::detail::spawn_with;

namespace detail {

namespace {

boost::urls::url absolute_http_url(const std::string& text, const char* what)
{
    auto parsed = boost::urls::parse_absolute_uri(text);
    if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty())
        throw std::invalid_argument(std::string("fedora::bodhi: ") + what + " must be an absolute http(s) URL");
    boost::urls::url u = *parsed;
    u.remove_fragment();
    return u;
}

} // namespace

bodhi_core::bodhi_core(std::shared_ptr<http::client> t, client_params p)
    : transport(std::move(t)),
      params(std::move(p)),
      urls(fedora::detail::base_url_of(params.base_url, "fedora::bodhi")),
      origin(http::origin_of(urls.base()))
{
    if (!transport)
        throw std::invalid_argument("fedora::bodhi: no transport");
    openid_api = absolute_http_url(params.openid_api_url, "openid_api_url");
    provider_origin = http::origin_of(openid_api);
}

std::optional<server_version> bodhi_core::version() const
{
    if (params.version)
        return params.version;
    std::lock_guard lock(mutex_);
    return detected_;
}

server_version bodhi_core::remember(server_version v)
{
    std::lock_guard lock(mutex_);
    if (!detected_)
        detected_ = v;
    return *detected_;
}

} // namespace detail

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
using result_t = std::tuple<error_code, raw_reply>;

std::string snippet(std::string_view body) { return mask_secrets(body.substr(0, 1024)); }

http::request base_request(const bodhi_core& core, bhttp::verb method, boost::urls::url url)
{
    http::request r;
    r.method = method;
    r.url = std::move(url);
    r.headers.set(bhttp::field::accept, "application/json");
    if (!core.params.user_agent.empty())
        r.headers.set(bhttp::field::user_agent, core.params.user_agent);
    r.timeout = core.params.timeout;
    r.max_redirects = 0;
    r.safe_to_repeat = false;
    // All the adapters read of an answer's header (the transport keeps Location itself).
    r.response_fields = http::field_set{bhttp::field::set_cookie};
    return r;
}

void make_safe_read(const bodhi_core& core, http::request& r)
{
    r.safe_to_repeat = true;
    r.retry = core.params.read_retry;
}

asio::awaitable<std::tuple<error_code, http::response>> send(std::shared_ptr<bodhi_core> core, http::request req)
{
    auto transport = core->transport;
    auto [ec, resp] = co_await transport->async_send(std::move(req), tuple_awaitable);
    co_return std::tuple<error_code, http::response>{ec, std::move(resp)};
}

// ---- detection -----------------------------------------------------------------------------

struct detection
{
    error_code ec;
    server_version version = server_version::bodhi2;
    diagnostics diag;
};

asio::awaitable<detection> detect(std::shared_ptr<bodhi_core> core)
{
    detection out;
    if (auto v = core->version()) {
        out.version = *v;
        co_return out;
    }
    auto probe = base_request(*core, bhttp::verb::get, core->urls.join("api_version"));
    make_safe_read(*core, probe);
    probe.max_redirects.reset();  // the transport's default: same-origin redirects only
    auto [ec, resp] = co_await send(core, probe);
    out.diag = std::move(resp.diag);
    if (ec) {
        out.ec = ec;
        co_return out;
    }
    out.diag.http_status = resp.status();
    auto c = classify_api_version(resp.status(), resp.body());
    switch (c.step) {
    case detect_step::bodhi2: out.version = core->remember(server_version::bodhi2); break;
    case detect_step::bodhi1: out.version = core->remember(server_version::bodhi1); break;
    case detect_step::fail:
        out.ec = make_error_code(errc::server_error);
        out.diag.message = std::move(c.message);
        out.diag.body_snippet = snippet(resp.body());
        break;
    case detect_step::probe_bodhi1: {
        auto confirm = base_request(*core, bhttp::verb::post, core->urls.join("releases"));
        make_safe_read(*core, confirm);
        auto [ec2, resp2] = co_await send(core, confirm);
        out.diag = std::move(resp2.diag);
        if (ec2) {
            out.ec = ec2;
            co_return out;
        }
        out.diag.http_status = resp2.status();
        if (confirms_bodhi1(resp2.status(), resp2.body())) {
            out.version = core->remember(server_version::bodhi1);
        } else {
            out.ec = make_error_code(errc::server_error);
            out.diag.message = "api_version is not JSON and POST releases is not Bodhi 1's answer: "
                               "neither Bodhi 1 nor Bodhi 2";
            out.diag.body_snippet = snippet(resp2.body());
        }
        break;
    }
    }
    co_return out;
}

// ---- Bodhi 2 identity -------------------------------------------------------------------

struct session_outcome
{
    error_code ec;
    session s;
    diagnostics diag;
};

session_outcome failed(session_outcome out, errc e, std::string message)
{
    out.ec = make_error_code(e);
    out.diag.message = std::move(message);
    return out;
}

std::optional<boost::urls::url> location_of(const http::response& resp)
{
    auto it = resp.message.find(bhttp::field::location);
    if (it == resp.message.end())
        return std::nullopt;
    auto ref = boost::urls::parse_uri_reference(it->value());
    boost::urls::url next;
    if (!ref || !boost::urls::resolve(resp.final_url, *ref, next))
        return std::nullopt;
    return next;
}

// GET csrf with the session's cookies: the token bound to its `session` cookie.
asio::awaitable<session_outcome> fetch_csrf(std::shared_ptr<bodhi_core> core, session s)
{
    session_outcome out;
    auto req = base_request(*core, bhttp::verb::get, core->urls.join("csrf"));
    if (!s.cookies.empty())
        req.headers.set(bhttp::field::cookie, s.cookie_header());
    auto [ec, resp] = co_await send(core, req);
    raw_reply r;
    r.session = std::move(s);
    r.diag = std::move(resp.diag);
    if (!ec)
        ec = read_bodhi2_answer(resp, true, r);
    out.s = std::move(r.session);
    out.diag = std::move(r.diag);
    if (ec) {
        out.ec = ec;
        co_return out;
    }
    const auto* o = r.body.if_object();
    out.s.csrf_token = o ? detail::str(*o, "csrf_token") : std::string();
    if (out.s.csrf_token.empty())
        co_return failed(std::move(out), errc::server_error, "GET csrf answered without `csrf_token`");
    co_return out;
}

// python-fedora's openid_login, with the origins checked at every step.
asio::awaitable<session_outcome> openid_login(std::shared_ptr<bodhi_core> core, auth_params auth, session s)
{
    session_outcome out;
    out.s = std::move(s);
    out.s.set_cookie("auth_tkt", "");

    // 1. GET login -> dologin.html (Bodhi), 2. dologin.html -> the provider.
    boost::urls::url next = core->urls.join("login");
    for (int hop = 0; hop < 2; ++hop) {
        auto req = base_request(*core, bhttp::verb::get, next);
        if (!out.s.cookies.empty())
            req.headers.set(bhttp::field::cookie, out.s.cookie_header());
        auto [ec, resp] = co_await send(core, req);
        out.diag = std::move(resp.diag);
        if (ec) {
            out.ec = ec;
            co_return out;
        }
        out.diag.http_status = resp.status();
        out.s.merge_set_cookies(resp);
        auto loc = resp.status() >= 300 && resp.status() < 400 ? location_of(resp) : std::nullopt;
        if (!loc) {
            out.diag.body_snippet = snippet(resp.body());
            co_return failed(std::move(out), errc::server_error,
                             "the Bodhi 2 login did not redirect towards the OpenID provider");
        }
        const std::string where = http::origin_of(*loc);
        const std::string& expected = hop == 0 ? core->origin : core->provider_origin;
        if (where != expected)
            co_return failed(std::move(out), errc::auth_error,
                             "the login was sent to " + where + ", not to " + expected +
                                 " (the configured OpenID provider); the credentials were not sent");
        next = std::move(*loc);
    }

    // 3. The credentials go to the provider's API, and nowhere else.
    http::form f = http::form::decode(next.encoded_query());
    if (!f.find("openid.mode"))
        f.add("openid.mode", "checkid_setup");
    f.add("username", auth.username);
    f.add("password", auth.password);
    f.add("auth_module", "fedoauth.auth.fas.Auth_FAS");
    f.add("auth_flow", "fedora");
    auto api = base_request(*core, bhttp::verb::post, core->openid_api);
    api.body = f.encode();
    api.headers.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    auto [ec, resp] = co_await send(core, api);
    out.diag = std::move(resp.diag);
    if (ec) {
        out.ec = ec;
        co_return out;
    }
    out.diag.http_status = resp.status();
    error_code jec;
    auto answer = json::parse(resp.body(), jec);
    const auto* ao = jec ? nullptr : answer.if_object();
    if (resp.status() >= 300 || !ao) {
        out.diag.body_snippet = snippet(resp.body());
        co_return failed(std::move(out), errc::server_error,
                         "the OpenID provider's API answered HTTP " + std::to_string(resp.status()) +
                             (ao ? ": " + detail::str(*ao, "message") : std::string(" without JSON")));
    }
    if (!detail::flag(*ao, "success")) {
        auto m = detail::str(*ao, "message");
        co_return failed(std::move(out), errc::auth_error, m.empty() ? "the OpenID provider refused the login" : m);
    }
    const auto* response = detail::obj(*ao, "response");
    if (!response)
        co_return failed(std::move(out), errc::server_error, "the OpenID provider answered without `response`");

    // 4. The signed answer goes back to Bodhi, with Bodhi's cookies only.
    const std::string return_to_text = detail::str(*response, "openid.return_to");
    auto return_to = boost::urls::parse_absolute_uri(return_to_text);
    if (!return_to || http::origin_of(*return_to) != core->origin)
        co_return failed(std::move(out), errc::auth_error,
                         "openid.return_to (" + (return_to ? http::origin_of(*return_to) : std::string("not a URL")) +
                             ") is not on Bodhi's origin " + core->origin + "; not followed");
    http::form assertion;
    for (const auto& [k, v] : *response)
        if (v.is_string())
            assertion.add(k, v.get_string());
    auto back = base_request(*core, bhttp::verb::post, boost::urls::url(*return_to));
    back.body = assertion.encode();
    back.headers.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    if (!out.s.cookies.empty())
        back.headers.set(bhttp::field::cookie, out.s.cookie_header());
    auto [ec2, resp2] = co_await send(core, back);
    out.diag = std::move(resp2.diag);
    if (ec2) {
        out.ec = ec2;
        co_return out;
    }
    out.diag.http_status = resp2.status();
    out.s.merge_set_cookies(resp2);
    if (!out.s.cookie("auth_tkt")) {
        out.diag.body_snippet = snippet(resp2.body());
        co_return failed(std::move(out), errc::auth_error,
                         "Bodhi did not accept the OpenID answer (HTTP " + std::to_string(resp2.status()) + ")");
    }
    out.s.username = auth.username;
    out.diag.message.clear();
    co_return out;
}

// ---- one exchange per version -------------------------------------------------------------

boost::urls::url url_of(const bodhi_core& core, const operation_request& r)
{
    auto url = core.urls.join(r.path);
    if (!r.query.empty())
        url.set_encoded_query(r.query.encode());
    return url;
}

asio::awaitable<result_t> exchange_bodhi1(std::shared_ptr<bodhi_core> core, operation_request r, auth_params auth,
                                          raw_reply out)
{
    auto req = base_request(*core, r.method, url_of(*core, r));
    http::form form = r.form;
    if (const auto* visit = out.session.cookie("tg-visit")) {
        req.headers.set(bhttp::field::cookie, out.session.cookie_header());
        form.add("_csrf_token", bodhi1_csrf_token(*visit));
    }
    const bool send_credentials = r.needs_auth && auth.has_credentials();
    if (send_credentials) {
        form.add("user_name", auth.username);
        form.add("password", auth.password);
        form.add("login", "Login");
    }
    if (!form.empty()) {
        req.body = form.encode();
        req.headers.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    }
    if (r.safe_to_repeat)
        make_safe_read(*core, req);
    auto [ec, resp] = co_await send(core, req);
    out.diag = std::move(resp.diag);
    if (!ec)
        ec = read_bodhi1_answer(resp, out);
    if (!ec && send_credentials)
        out.session.username = auth.username;
    co_return result_t{ec, std::move(out)};
}

asio::awaitable<result_t> exchange_bodhi2(std::shared_ptr<bodhi_core> core, operation_request r, auth_params auth,
                                          raw_reply out)
{
    bool logged_in_now = false;
    bool csrf_fetched = false;
    auto login = [&]() -> asio::awaitable<error_code> {
        auto done = co_await openid_login(core, auth, out.session);
        out.session = std::move(done.s);
        if (done.ec)
            out.diag = std::move(done.diag);
        logged_in_now = true;
        co_return done.ec;
    };
    if (r.needs_auth && auth.has_credentials() && (r.force_login || !out.session.cookie("auth_tkt")))
        if (auto ec = co_await login())
            co_return result_t{ec, std::move(out)};

    for (;;) {
        if (r.needs_csrf && (out.session.csrf_token.empty() || !out.session.cookie("session"))) {
            auto got = co_await fetch_csrf(core, out.session);
            out.session = std::move(got.s);
            csrf_fetched = true;
            if (got.ec) {
                out.diag = std::move(got.diag);
                co_return result_t{got.ec, std::move(out)};
            }
        }
        auto req = base_request(*core, r.method, url_of(*core, r));
        if (!out.session.cookies.empty())
            req.headers.set(bhttp::field::cookie, out.session.cookie_header());
        if (r.json) {
            json::object body = *r.json;
            if (r.needs_csrf)
                body["csrf_token"] = out.session.csrf_token;
            req.body = json::serialize(body);
            req.headers.set(bhttp::field::content_type, "application/json");
        } else if (!r.form.empty() || r.needs_csrf) {
            http::form form = r.form;
            if (r.needs_csrf)
                form.add("csrf_token", out.session.csrf_token);
            req.body = form.encode();
            req.headers.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
        }
        if (r.safe_to_repeat)
            make_safe_read(*core, req);
        auto [ec, resp] = co_await send(core, req);
        out.diag = std::move(resp.diag);
        out.body = nullptr;
        if (ec)
            co_return result_t{ec, std::move(out)};
        ec = read_bodhi2_answer(resp, r.expect_json, out);
        // The server refused the write before doing anything: sending it again is safe.
        if (ec == errc::app_error && r.needs_csrf && is_csrf_mismatch(out.diag) && !csrf_fetched &&
            core->params.refetch_csrf_on_mismatch) {
            out.session.csrf_token.clear();
            continue;
        }
        if (ec == errc::auth_error && r.needs_auth && auth.has_credentials() && !logged_in_now) {
            if (auto lec = co_await login())
                co_return result_t{lec, std::move(out)};
            continue;
        }
        co_return result_t{ec, std::move(out)};
    }
}

asio::awaitable<result_t> exchange(std::shared_ptr<bodhi_core> core, detail::dual_request req, auth_params auth)
{
    raw_reply out;
    auto det = co_await detect(core);
    out.version = det.version;
    if (det.ec) {
        out.diag = std::move(det.diag);
        co_return result_t{det.ec, std::move(out)};
    }
    operation_request r = det.version == server_version::bodhi1 ? std::move(req.bodhi1) : std::move(req.bodhi2);
    out.diag.url = http::redact_url(core->urls.join(r.path));
    auto refuse = [&](errc e, std::string message) {
        out.diag.message = std::move(message);
        out.diag.may_have_reached_server = false;
        return result_t{make_error_code(e), std::move(out)};
    };
    if (r.refused)
        co_return refuse(static_cast<errc>(r.refused.value()), r.refused_message);
    if (!auth.session.empty() && !auth.session.origin.empty() && auth.session.origin != core->origin)
        co_return refuse(errc::invalid_argument, "this session was set by " + auth.session.origin +
                                                     "; it is never sent to " + core->origin);
    if (!auth.session.valid())
        co_return refuse(errc::invalid_argument, "the session has cookies a Cookie header cannot carry");
    if (auth.username.empty() != auth.password.empty())
        co_return refuse(errc::auth_error, "username and password must both be set");
    if (r.needs_auth && !auth.has_session() && !auth.has_credentials())
        co_return refuse(errc::auth_error, "this call needs a session or a username and password");
    out.session = auth.session;
    out.session.origin = core->origin;
    if (det.version == server_version::bodhi1)
        co_return co_await exchange_bodhi1(core, r, auth, out);
    co_return co_await exchange_bodhi2(core, r, auth, out);
}

template <class Op>
asio::awaitable<std::tuple<error_code, reply<typename Op::result_type>>> run_op(std::shared_ptr<bodhi_core> core,
                                                                                 Op op, auth_params auth)
{
    auto req = detail::build_both(op, auth);
    auto [ec, r] = co_await exchange(core, req, auth);
    reply<typename Op::result_type> out;
    if (!ec)
        ec = parse_for(op, r, out.value);
    out.session = std::move(r.session);
    out.version = r.version;
    out.diag = std::move(r.diag);
    co_return std::tuple<error_code, reply<typename Op::result_type>>{ec, std::move(out)};
}

void set_page(ops::query_updates& op, int p) { op.query.page = p; }
void set_page(ops::critpath_updates& op, int p) { op.page = p; }

// Every page of `op` from its current page on, appended to `out` without duplicate keys.
template <class Op>
asio::awaitable<error_code> collect(std::shared_ptr<bodhi_core> core, Op op, int first, auth_params* auth,
                                    reply<std::vector<update>>* out, std::set<std::string>* seen)
{
    int pages = first;
    for (int p = first; p <= pages; ++p) {
        set_page(op, p);
        auto [ec, r] = co_await run_op(core, op, *auth);
        out->session = r.session;
        out->version = r.version;
        out->diag = std::move(r.diag);
        if (ec)
            co_return ec;
        if (!r.session.cookies.empty())
            auth->session = std::move(r.session);  // a login done by the first page is kept
        pages = std::max(pages, r.value.pages);
        if (r.value.rows.empty())
            break;
        for (auto& u : r.value.rows)
            if (seen->insert(u.key).second)
                out->value.push_back(std::move(u));
    }
    co_return error_code{};
}

} // namespace

// ---- the client -----------------------------------------------------------------------------

client::client(asio::any_io_executor executor, client_params params)
    : client(std::make_shared<http::client>(executor, params.http), params)
{
}

client::client(std::shared_ptr<http::client> transport, client_params params)
    : core_(std::make_shared<bodhi_core>(std::move(transport), std::move(params)))
{
}

asio::any_io_executor client::get_executor() const { return core_->transport->get_executor(); }
const std::shared_ptr<http::client>& client::transport() const noexcept { return core_->transport; }
std::optional<server_version> client::version() const { return core_->version(); }

void client::start(std::shared_ptr<bodhi_core> core, detail::dual_request req, auth_params auth,
                   detail::raw_handler handler)
{
    auto ex = core->transport->get_executor();
    spawn_with<raw_reply>(ex, exchange(std::move(core), std::move(req), std::move(auth)), std::move(handler));
}

void client::start_detect(std::shared_ptr<bodhi_core> core, detail::handler_of<server_version> handler)
{
    using result = reply<server_version>;
    auto ex = core->transport->get_executor();
    auto work = [](std::shared_ptr<bodhi_core> core) -> asio::awaitable<std::tuple<error_code, result>> {
        auto det = co_await detect(core);
        result out;
        out.value = det.version;
        out.version = det.version;
        out.diag = std::move(det.diag);
        co_return std::tuple<error_code, result>{det.ec, std::move(out)};
    };
    spawn_with<result>(ex, work(std::move(core)), std::move(handler));
}

void client::start_query_all(std::shared_ptr<bodhi_core> core, update_query q, auth_params auth,
                             detail::handler_of<std::vector<update>> handler)
{
    using result = reply<std::vector<update>>;
    auto ex = core->transport->get_executor();
    auto work = [](std::shared_ptr<bodhi_core> core, update_query q,
                   auth_params auth) -> asio::awaitable<std::tuple<error_code, result>> {
        result out;
        std::set<std::string> seen;
        ops::query_updates op{q};
        const int first = q.page;
        auto ec = co_await collect(core, op, first, &auth, &out, &seen);
        co_return std::tuple<error_code, result>{ec, std::move(out)};
    };
    spawn_with<result>(ex, work(std::move(core), std::move(q), std::move(auth)), std::move(handler));
}

void client::start_critpath(std::shared_ptr<bodhi_core> core, std::string release, bool untested, auth_params auth,
                            detail::handler_of<std::vector<update>> handler)
{
    using result = reply<std::vector<update>>;
    auto ex = core->transport->get_executor();
    auto work = [](std::shared_ptr<bodhi_core> core, std::string release, bool untested,
                   auth_params auth) -> asio::awaitable<std::tuple<error_code, result>> {
        result out;
        auto det = co_await detect(core);
        out.version = det.version;
        if (det.ec) {
            out.diag = std::move(det.diag);
            co_return std::tuple<error_code, result>{det.ec, std::move(out)};
        }
        std::set<std::string> seen;
        ops::critpath_updates op{release, untested, {}, 1, 100};
        const int first = 1;
        if (det.version == server_version::bodhi1) {
            auto ec = co_await collect(core, op, first, &auth, &out, &seen);
            co_return std::tuple<error_code, result>{ec, std::move(out)};
        }
        // Bodhi 2 filters one status at a time: pending, then testing, merged newest first.
        for (const char* status : {"pending", "testing"}) {
            op.status = status;
            auto ec = co_await collect(core, op, first, &auth, &out, &seen);
            if (ec)
                co_return std::tuple<error_code, result>{ec, std::move(out)};
        }
        std::stable_sort(out.value.begin(), out.value.end(),
                         [](const update& a, const update& b) { return a.date_submitted > b.date_submitted; });
        co_return std::tuple<error_code, result>{error_code{}, std::move(out)};
    };
    spawn_with<result>(ex, work(std::move(core), std::move(release), untested, std::move(auth)), std::move(handler));
}

void client::start_expire_override(std::shared_ptr<bodhi_core> core, std::string nvr, auth_params auth,
                                   detail::handler_of<std::string> handler)
{
    using result = reply<std::string>;
    auto ex = core->transport->get_executor();
    auto work = [](std::shared_ptr<bodhi_core> core, std::string nvr,
                   auth_params auth) -> asio::awaitable<std::tuple<error_code, result>> {
        auto det = co_await detect(core);
        if (det.ec) {
            result out;
            out.version = det.version;
            out.diag = std::move(det.diag);
            co_return std::tuple<error_code, result>{det.ec, std::move(out)};
        }
        ops::expire_override expire{nvr, {}};
        if (det.version == server_version::bodhi2) {
            ops::get_override get{nvr};
            auto [ec, current] = co_await run_op(core, get, auth);
            if (ec || current.value.expired()) {
                result out;
                out.session = std::move(current.session);
                out.version = current.version;
                out.diag = std::move(current.diag);
                co_return std::tuple<error_code, result>{ec, std::move(out)};
            }
            expire.current = std::move(current.value);
            if (!current.session.cookies.empty())
                auth.session = std::move(current.session);
        }
        co_return co_await run_op(core, expire, auth);
    };
    spawn_with<result>(ex, work(std::move(core), std::move(nvr), std::move(auth)), std::move(handler));
}

} // namespace fedora::bodhi
