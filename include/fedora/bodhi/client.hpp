// fedora::bodhi::client: one asynchronous Bodhi interface over Bodhi 1 (TurboGears) and
// Bodhi 2 (Pyramid/Cornice) servers. Every logical operation is the same whichever server
// answers; an operation the server cannot do completes with errc::not_supported ("... is
// not supported by Bodhi N") before any I/O.
//
// Version: detected once per client with GET api_version (spec §3.4: JSON with `version`
// >= 2 -> Bodhi 2; not JSON (an HTML page, a 404) -> Bodhi 1, confirmed by POST releases
// answering JSON `releases`; JSON without `version` -> errc::server_error "not a Bodhi
// server"), then cached; or pinned with client_params::version. The redirect target of the
// probe is not adopted as the new base URL. Concurrent first calls may each probe once;
// the result is the same and the first stored wins.
//
// Auth: an auth_params value passed with each call, never kept by the client. Each reply
// carries the session the server left (cookies, Bodhi 2 csrf token, user name): hand it
// back as auth_params::with_session(r.session) to stay logged in.
//   Bodhi 1: credentials go as user_name/password/login form fields on calls that need
//            auth; a session goes as the tg-visit cookie plus _csrf_token = sha1hex(visit).
//   Bodhi 2: calls that need auth, given credentials and no auth_tkt, first run the OpenID
//            login (GET login -> dologin.html -> the provider's checkid_setup redirect,
//            whose origin must be the one of openid_api_url; POST the credentials to
//            openid_api_url only; POST the signed answer to openid.return_to, which must
//            be Bodhi's own origin; auth_tkt is set). Writes carry csrf_token: the
//            session's, else fetched with GET csrf; when Bodhi says "CSRF tokens do not
//            match", the token is fetched again once and the write sent again (the refused
//            write did nothing). When Bodhi refuses a stale auth_tkt and credentials were
//            given, the call logs in again once.
// Cookies and tokens are only sent to the Bodhi origin; the provider sees only the
// credentials and the OpenID fields.
//
// Repeats: reads may be repeated by read_retry; writes (save, request, comment, delete,
// override changes, login, logout) never are.
//
// Errors: Bodhi 2 {"status":"error","errors":[...]} and Bodhi 1 tg_flash-only failures are
// errc::app_error with diag.extras["errors"] = [{location, name, description}...] (Bodhi 1:
// location "flash") and the descriptions joined in diag.message. See <fedora/error.hpp>.
//
// Thread safety: distinct and shared objects are safe; one client may serve any number of
// users from any number of threads. Completion: see <fedora/async.hpp>.
#pragma once

#include <fedora/async.hpp>
#include <fedora/detail/internal_failure.hpp>
#include <fedora/bodhi/operations.hpp>
#include <fedora/http/client.hpp>

#include <boost/asio/any_completion_handler.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace fedora::bodhi {

struct client_params
{
    // Where Bodhi lives; a missing trailing '/' is added. Bodhi 1 was under
    // https://admin.fedoraproject.org/updates/.
    std::string base_url = "https://bodhi.fedoraproject.org/";
    // Pins the protocol; nullopt = detect with GET api_version on the first call.
    std::optional<server_version> version;
    // Bodhi 2 login: the OpenID provider's JSON API. Bodhi's redirect to the provider must
    // be on this URL's origin, or the login stops before the credentials are sent.
    std::string openid_api_url = "https://id.fedoraproject.org/api/v1/";
    // false: a write whose CSRF token Bodhi 2 refuses fails (app_error) instead of
    // fetching a new token and sending the write once more.
    bool refetch_csrf_on_mismatch = true;
    std::string user_agent;                   // "" = the transport's
    std::chrono::milliseconds timeout{0};     // per request; 0 = the transport's default
    http::retry_policy read_retry;            // reads only
    http::client_params http;                 // when the client creates its own transport
};

// What every call completes with: the value, the session after the call (the caller's,
// updated with what the server set; empty for an anonymous call that set nothing), the
// server version that answered, and the diagnostics of the last exchange.
template <class T>
struct reply
{
    T value{};
    bodhi::session session;
    server_version version = server_version::bodhi2;
    diagnostics diag;
};

namespace detail {

class bodhi_core;
using raw_handler = boost::asio::any_completion_handler<void(error_code, raw_reply)>;
template <class T>
using handler_of = boost::asio::any_completion_handler<void(error_code, reply<T>)>;

// Both adapters' requests for one logical operation; the generic path sends one.
struct dual_request
{
    operation_request bodhi1;
    operation_request bodhi2;
};

template <class Op>
dual_request build_both(const Op& op, const auth_params& auth)
{
    return {v1::build(op, auth), v2::build(op, auth)};
}

// Turns the raw reply into the operation's typed reply, on the caller's executor.
template <class Op, class Handler>
struct parse_then
{
    using forwarded_handler_type = Handler;  // its associations are the caller's (async.hpp)
    Op op;
    Handler handler;

    void operator()(error_code ec, raw_reply&& r)
    {
        reply<typename Op::result_type> out;
        if (!ec) {
            try {
                ec = parse_for(op, r, out.value);
            } catch (const std::exception& e) {  // allocation failure: complete, do not lose the handler
                ec = fedora::detail::internal_failure(r.diag, e);
            }
        }
        out.session = std::move(r.session);
        out.version = r.version;
        out.diag = std::move(r.diag);
        std::move(handler)(ec, std::move(out));
    }
};

} // namespace detail

class client
{
public:
    // Throws std::invalid_argument for a base_url or openid_api_url that is not an
    // absolute http(s) URL.
    explicit client(boost::asio::any_io_executor executor, client_params params = {});
    // Shares a transport (and its pools) with other clients.
    client(std::shared_ptr<http::client> transport, client_params params = {});

    boost::asio::any_io_executor get_executor() const;
    const std::shared_ptr<http::client>& transport() const noexcept;
    // The pinned or detected version; nullopt before detection.
    std::optional<server_version> version() const;

    // Detects the version (no request when pinned or already known).
    template <class CompletionToken = default_token>
    auto async_detect(CompletionToken&& token = CompletionToken{})
    {
        return fedora::detail::initiate<reply<server_version>>(
            [](auto handler, std::shared_ptr<detail::bodhi_core> core) {
                start_detect(std::move(core), std::move(handler));
            },
            std::forward<CompletionToken>(token), core_);
    }

    // Runs any logical operation of <fedora/bodhi/operations.hpp> with the given identity.
    template <class Op, class CompletionToken = default_token>
    auto async_run(Op op, auth_params auth, CompletionToken&& token = CompletionToken{})
    {
        using result = reply<typename Op::result_type>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::bodhi_core> core, Op op, auth_params auth) {
                auto req = detail::build_both(op, auth);
                start(std::move(core), std::move(req), std::move(auth),
                      detail::parse_then<Op, decltype(handler)>{std::move(op), std::move(handler)});
            },
            std::forward<CompletionToken>(token), core_, std::move(op), std::move(auth));
    }

// Each operation comes twice: with auth_params, and without (anonymous, default token).
// Not one function with `auth_params auth = {}`: GCC 12 mishandles a defaulted argument
// with a destructor inside a co_await expression (`co_await c.async_releases()` freed the
// default's strings twice), while a temporary made inside a plain function is safe.
#define FEDORA_BODHI_OP(name, op_expr, ...)                                                   \
    template <class CompletionToken = default_token>                                          \
    auto name(__VA_ARGS__ __VA_OPT__(, ) auth_params auth,                                    \
              CompletionToken&& token = CompletionToken{})                                    \
    {                                                                                         \
        return async_run(op_expr, std::move(auth), std::forward<CompletionToken>(token));     \
    }                                                                                         \
    auto name(__VA_ARGS__)                                                                    \
    {                                                                                         \
        return async_run(op_expr, auth_params{}, default_token{});                            \
    }

    // One page of updates (one request). B1 POST list, B2 GET updates/.
    FEDORA_BODHI_OP(async_query_updates, ops::query_updates{std::move(query)}, update_query query)
    // One update by key (B1: title or update ID; B2: alias or title). One request.
    FEDORA_BODHI_OP(async_get_update, ops::get_update{std::move(key)}, std::string key)
    // Create (fields.edited empty) or edit an update. Needs auth. Never repeated.
    FEDORA_BODHI_OP(async_save_update, ops::save_update{std::move(fields)}, update_fields fields)
    // testing, stable, obsolete, unpush or revoke. Needs auth. Never repeated.
    FEDORA_BODHI_OP(async_request, (ops::request_update{std::move(key), std::move(action)}),
                    std::string key, std::string action)
    // A comment with karma (B2: critpath karma, bug/test feedback, anonymous e-mail).
    FEDORA_BODHI_OP(async_comment, ops::comment{std::move(fields)}, comment_fields fields)
    // Bodhi 1 only: deletes an unpushed update. Bodhi 2: not_supported (use "unpush").
    FEDORA_BODHI_OP(async_delete_update, ops::delete_update{std::move(key)}, std::string key)
    FEDORA_BODHI_OP(async_releases, ops::releases{})
    FEDORA_BODHI_OP(async_latest_builds, ops::latest_builds{std::move(package)}, std::string package)
    FEDORA_BODHI_OP(async_candidate_tags, ops::candidate_tags{})
    FEDORA_BODHI_OP(async_save_override, ops::save_override{std::move(fields)}, override_fields fields)
    FEDORA_BODHI_OP(async_query_overrides, ops::query_overrides{std::move(query)}, override_query query)
    // Bodhi 2 only.
    FEDORA_BODHI_OP(async_get_override, ops::get_override{std::move(nvr)}, std::string nvr)
    FEDORA_BODHI_OP(async_query_packages, ops::query_packages{std::move(query)}, package_query query)
    FEDORA_BODHI_OP(async_query_comments, ops::query_comments{std::move(query)}, comment_query query)
#undef FEDORA_BODHI_OP

    // Logs in and returns the session (B1: POST login, one request; B2: the OpenID flow,
    // four requests plus GET csrf).
    template <class CompletionToken = default_token>
    auto async_login(std::string username, std::string password, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::login{}, auth_params::credentials(std::move(username), std::move(password)),
                         std::forward<CompletionToken>(token));
    }

    // Ends the session on the server (B1 POST logout, B2 GET logout).
    template <class CompletionToken = default_token>
    auto async_logout(bodhi::session s, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::logout{}, auth_params::with_session(std::move(s)),
                         std::forward<CompletionToken>(token));
    }

    // Every page of a query, rows_per_page at a time (query.page is the first page), in the
    // server's order, without duplicates (by key). ceil(total / rows_per_page) requests.
    template <class CompletionToken = default_token>
    auto async_query_all_updates(update_query query, auth_params auth,
                                 CompletionToken&& token = CompletionToken{})
    {
        return fedora::detail::initiate<reply<std::vector<update>>>(
            [](auto handler, std::shared_ptr<detail::bodhi_core> core, update_query q, auth_params a) {
                start_query_all(std::move(core), std::move(q), std::move(a), std::move(handler));
            },
            std::forward<CompletionToken>(token), core_, std::move(query), std::move(auth));
    }

    // Expires a buildroot override. B1: one request. B2: GET overrides/{nvr}, then its edit
    // payload with expired=true (an already expired override is returned as it is, not
    // re-enabled: spec §7 quirk 10). Completes with the server's message (B2: "").
    template <class CompletionToken = default_token>
    auto async_expire_override(std::string nvr, auth_params auth,
                               CompletionToken&& token = CompletionToken{})
    {
        return fedora::detail::initiate<reply<std::string>>(
            [](auto handler, std::shared_ptr<detail::bodhi_core> core, std::string n, auth_params a) {
                start_expire_override(std::move(core), std::move(n), std::move(a), std::move(handler));
            },
            std::forward<CompletionToken>(token), core_, std::move(nvr), std::move(auth));
    }

    // Critical-path updates in pending or testing, every page (newest first). B1: POST
    // critpath (`untested`: not yet critpath-approved). B2: GET updates/?critpath=true for
    // status pending, then testing (`untested` is not supported by Bodhi 2).
    template <class CompletionToken = default_token>
    auto async_critpath_updates(std::string release, bool untested, auth_params auth,
                                CompletionToken&& token = CompletionToken{})
    {
        return fedora::detail::initiate<reply<std::vector<update>>>(
            [](auto handler, std::shared_ptr<detail::bodhi_core> core, std::string r, bool u, auth_params a) {
                start_critpath(std::move(core), std::move(r), u, std::move(a), std::move(handler));
            },
            std::forward<CompletionToken>(token), core_, std::move(release), untested, std::move(auth));
    }

    // Anonymous forms of the three above (see FEDORA_BODHI_OP for why not default arguments).
    auto async_query_all_updates(update_query query)
    {
        return async_query_all_updates(std::move(query), auth_params{}, default_token{});
    }
    auto async_expire_override(std::string nvr)
    {
        return async_expire_override(std::move(nvr), auth_params{}, default_token{});
    }
    auto async_critpath_updates(std::string release, bool untested = false)
    {
        return async_critpath_updates(std::move(release), untested, auth_params{}, default_token{});
    }

    // The generic path, compiled once in the library.
    static void start(std::shared_ptr<detail::bodhi_core> core, detail::dual_request req, auth_params auth,
                      detail::raw_handler handler);

private:
    static void start_detect(std::shared_ptr<detail::bodhi_core> core, detail::handler_of<server_version> handler);
    static void start_query_all(std::shared_ptr<detail::bodhi_core> core, update_query q, auth_params auth,
                                detail::handler_of<std::vector<update>> handler);
    static void start_critpath(std::shared_ptr<detail::bodhi_core> core, std::string release, bool untested,
                               auth_params auth, detail::handler_of<std::vector<update>> handler);
    static void start_expire_override(std::shared_ptr<detail::bodhi_core> core, std::string nvr,
                                      auth_params auth, detail::handler_of<std::string> handler);

    std::shared_ptr<detail::bodhi_core> core_;
};

} // namespace fedora::bodhi

