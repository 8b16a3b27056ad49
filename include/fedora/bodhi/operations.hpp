// Bodhi logical operations as data, and the two adapters that map them to a server.
//
// A logical operation (ops::query_updates, ops::comment, ...) holds the caller's arguments
// and names its result_type. Each server version has one table entry per logical operation:
//
//   operation_request v1::build(const Op&, const auth_params&);        // pure
//   error_code        v1::parse(const Op&, raw_reply&, result_type&);  // pure
//   (and the same in namespace v2)
//
// The generic path (bodhi::client::async_run, compiled once in the library) builds both
// requests, picks the one of the detected version, adds the base URL, headers, cookies,
// credentials, CSRF token and login, sends it, applies the checks every answer of that
// version needs (read_bodhi1_answer / read_bodhi2_answer) and hands the reply to parse.
// An operation a version cannot do is a request refused with errc::not_supported and
// "<what> is not supported by Bodhi N" before any I/O.
#pragma once

#include <fedora/bodhi/types.hpp>
#include <fedora/error.hpp>
#include <fedora/http/encoding.hpp>

#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fedora::http {
struct response;
}

namespace fedora::bodhi {

// The session material a server set: hand it back with the next call. Bodhi 1: the
// `tg-visit` cookie (its `_csrf_token` is computed). Bodhi 2: the `auth_tkt` and `session`
// cookies plus the `csrf_token` bound to `session`. A session is only ever sent to the
// origin that set it (the client refuses another one with invalid_argument).
struct session
{
    std::string origin;     // "https://host:port" of the Bodhi server that set the cookies
    std::string username;   // who logged in, when known
    std::vector<std::pair<std::string, std::string>> cookies;
    std::string csrf_token; // Bodhi 2

    bool empty() const noexcept { return cookies.empty() && csrf_token.empty(); }
    const std::string* cookie(std::string_view name) const noexcept;
    // Sets (or, with an empty value, removes) one cookie.
    void set_cookie(std::string_view name, std::string value);
    // Applies every Set-Cookie of a response (Max-Age=0 or an empty value removes).
    void merge_set_cookies(const http::response& resp);
    // "name=value; name2=value2", or "" (values with characters a cookie cannot carry are
    // refused by valid()).
    std::string cookie_header() const;
    bool valid() const noexcept;
};

// Who makes a request: a value passed with each call, never stored by the client.
// Credentials and a session may both be given: the session is used, and the credentials
// log in (again) where the server needs it.
struct auth_params
{
    std::string username;
    std::string password;
    bodhi::session session;

    static auth_params anonymous() { return {}; }
    static auth_params credentials(std::string user, std::string pass)
    {
        return {std::move(user), std::move(pass), {}};
    }
    static auth_params with_session(bodhi::session s) { return {{}, {}, std::move(s)}; }

    bool has_credentials() const noexcept { return !username.empty() && !password.empty(); }
    bool has_session() const noexcept { return !session.cookies.empty(); }
    // The user name the call acts as: username, else the session's.
    const std::string& who() const noexcept { return username.empty() ? session.username : username; }
};

// What an adapter asks the generic path to send.
struct operation_request
{
    boost::beast::http::verb method = boost::beast::http::verb::post;
    std::string path;                      // relative to the base URL, already encoded
    http::form query;                      // query string
    http::form form;                       // form body (Bodhi 1; Bodhi 2 reads)
    std::optional<boost::json::object> json;  // JSON body (Bodhi 2 writes)
    bool safe_to_repeat = true;            // reads: may be retried; writes never are
    bool needs_auth = false;               // refuse before I/O without credentials or a session
    bool needs_csrf = false;               // Bodhi 2: the generic path adds csrf_token
    bool force_login = false;              // Bodhi 2 login: run the OpenID flow even with a session
    bool expect_json = true;               // false: a 2xx or 3xx answer is enough (Bodhi 2 logout)
    error_code refused;                    // fail before any I/O with this
    std::string refused_message;

    static operation_request refuse(errc e, std::string message);
    static operation_request not_supported(std::string_view what, server_version v);
};

// An answer after the version's common checks, before the operation's own reading.
struct raw_reply
{
    boost::json::value body;
    unsigned status = 0;
    server_version version = server_version::bodhi2;
    bodhi::session session;   // the caller's session updated with what the server set
    diagnostics diag;
};

// ---- caller arguments --------------------------------------------------------------------

// Updates filter + pagination. page 1.., rows_per_page 1..100 (both servers: Bodhi 2's
// limits, refused with invalid_argument before I/O).
struct update_query
{
    std::vector<std::string> packages;  // B1 `package` (overloaded), B2 `packages`
    std::vector<std::string> builds;    // B1 `package` (an NVR), B2 `builds`
    std::string release;                // B1 `release`, B2 `releases`
    std::string status;                 // B1 knows pending/testing/stable/obsolete
    std::string type;                   // B1 `type_`, B2 `type`
    std::string request;
    std::vector<std::int64_t> bugs;
    std::string user;                   // submitter: B1 `username`, B2 `user`
    bool mine = false;                  // B1 `mine` (needs auth), B2 `user=<auth user>`
    std::optional<bool> critpath;       // B2 only (B1: use critpath_updates)
    std::string like;                   // B2 only: substring of the title
    int page = 1;
    int rows_per_page = 20;
};

struct update_fields
{
    std::vector<std::string> builds;
    std::string type = "bugfix";
    std::vector<std::int64_t> bugs;
    std::string notes;
    std::string request = "testing";    // testing, stable or "" (none)
    bool close_bugs = true;
    std::string suggest = "unspecified"; // B1: "reboot" -> suggest_reboot=True
    std::string severity;               // B2 only ("" = server default)
    bool autokarma = true;
    int stable_karma = 3;
    int unstable_karma = -3;
    std::optional<bool> require_bugs, require_testcases;  // B2 only
    std::string requirements;           // B2 only
    std::string edited;                 // "" = create; else the key (B1 title, B2 alias/title)
};

struct comment_fields
{
    std::string update;                 // the update's key (B1: title or update ID)
    std::string text;
    int karma = 0;                      // -1, 0, 1
    std::optional<int> karma_critpath;  // B2 only
    std::vector<std::pair<std::int64_t, int>> bug_feedback;          // B2 only: bug id, karma
    std::vector<std::pair<std::string, int>> testcase_feedback;      // B2 only: test, karma
    // B2: post anonymously as this e-mail address (no login needed). Not on B1, whose
    // `email` was an unrelated "send mail" flag (see notify_by_email).
    std::string anonymous_email;
    std::optional<bool> notify_by_email; // B1 only
};

struct override_fields
{
    std::vector<std::string> nvrs;
    std::string notes;
    // "YYYY-MM-DD HH:MM:SS" (UTC). B1 sends the date part as MM/DD/YYYY.
    std::string expiration_date;
};

struct override_query
{
    bool mine = false;                  // B1 `mine`; B2 `user=<auth user>`
    std::string user;                   // B2 only
    std::string release;
    std::string build;                  // B1 `build`, B2 `builds`
    std::optional<bool> expired;        // nullopt/true: include expired (B1 show_expired);
                                        // false: active only. B2: true = expired only.
    int page = 1;
    int rows_per_page = 20;
};

struct comment_query                    // B2 only
{
    std::vector<std::string> updates;
    std::vector<std::string> packages;
    std::string user;
    std::string like;
    int page = 1;
    int rows_per_page = 20;
};

struct package_query                    // B2 only
{
    std::string name;
    std::string like;
    int page = 1;
    int rows_per_page = 20;
};

// ---- logical operations ------------------------------------------------------------------

namespace ops {

struct query_updates { using result_type = page<update>; update_query query; };
struct get_update { using result_type = update; std::string key; };
struct save_update { using result_type = save_result; update_fields fields; };
// action: testing, stable, obsolete, unpush, revoke
struct request_update { using result_type = request_result; std::string key; std::string action; };
struct comment { using result_type = comment_result; comment_fields fields; };
// Bodhi 1 only (Bodhi 2 has no delete; its nearest is request "unpush").
struct delete_update { using result_type = std::string; std::string key; };
struct releases { using result_type = std::vector<release>; };
// tag -> NVR ("tg_flash" removed on Bodhi 1).
struct latest_builds { using result_type = std::vector<std::pair<std::string, std::string>>; std::string package; };
// Candidate Koji tags of the current releases (B1 candidate_tags, B2 releases/).
struct candidate_tags { using result_type = std::vector<std::string>; };
// One page of critical-path updates. B1: POST critpath (pending and testing); B2: GET
// updates/?critpath=true[&status=...]. `untested` (not yet critpath-approved) is B1 only;
// `status` B2 only.
struct critpath_updates
{
    using result_type = bodhi::page<update>;
    std::string release;
    bool untested = false;
    std::string status;
    int page = 1;
    int rows_per_page = 20;
};
struct save_override { using result_type = override_result; override_fields fields; };
struct query_overrides { using result_type = page<override_record>; override_query query; };
// B2 only: GET overrides/{nvr}.
struct get_override { using result_type = override_record; std::string nvr; };
// B1: POST override/expire. B2: the edit payload of the override (from get_override) with
// expired=true; the library runs the two steps (client::async_expire_override).
struct expire_override { using result_type = std::string; std::string nvr; override_record current; };
struct query_packages { using result_type = page<package>; package_query query; };
struct query_comments { using result_type = page<bodhi::comment>; comment_query query; };
struct login { using result_type = login_info; };
struct logout { using result_type = none; };

} // namespace ops

// ---- the two adapters --------------------------------------------------------------------

#define FEDORA_BODHI_ADAPTER_ENTRY(Op)                                                        \
    operation_request build(const ops::Op& op, const auth_params& auth);                    \
    error_code parse(const ops::Op& op, raw_reply& r, ops::Op::result_type& out);
#define FEDORA_BODHI_ADAPTER_TABLE                                                            \
    FEDORA_BODHI_ADAPTER_ENTRY(query_updates)                                                \
    FEDORA_BODHI_ADAPTER_ENTRY(get_update)                                                   \
    FEDORA_BODHI_ADAPTER_ENTRY(save_update)                                                  \
    FEDORA_BODHI_ADAPTER_ENTRY(request_update)                                               \
    FEDORA_BODHI_ADAPTER_ENTRY(comment)                                                      \
    FEDORA_BODHI_ADAPTER_ENTRY(delete_update)                                                \
    FEDORA_BODHI_ADAPTER_ENTRY(releases)                                                     \
    FEDORA_BODHI_ADAPTER_ENTRY(latest_builds)                                                \
    FEDORA_BODHI_ADAPTER_ENTRY(candidate_tags)                                               \
    FEDORA_BODHI_ADAPTER_ENTRY(critpath_updates)                                             \
    FEDORA_BODHI_ADAPTER_ENTRY(save_override)                                                \
    FEDORA_BODHI_ADAPTER_ENTRY(query_overrides)                                              \
    FEDORA_BODHI_ADAPTER_ENTRY(get_override)                                                 \
    FEDORA_BODHI_ADAPTER_ENTRY(expire_override)                                              \
    FEDORA_BODHI_ADAPTER_ENTRY(query_packages)                                               \
    FEDORA_BODHI_ADAPTER_ENTRY(query_comments)                                               \
    FEDORA_BODHI_ADAPTER_ENTRY(login)                                                        \
    FEDORA_BODHI_ADAPTER_ENTRY(logout)

// Bodhi 1 (TurboGears): every call a POST with a form body under the base URL.
namespace v1 {
FEDORA_BODHI_ADAPTER_TABLE
}
// Bodhi 2 (Pyramid/Cornice): GET reads with query strings, POST writes with JSON bodies.
namespace v2 {
FEDORA_BODHI_ADAPTER_TABLE
}
#undef FEDORA_BODHI_ADAPTER_TABLE
#undef FEDORA_BODHI_ADAPTER_ENTRY

// The table entry of `version` for any logical operation.
template <class Op>
operation_request build_for(server_version version, const Op& op, const auth_params& auth)
{
    return version == server_version::bodhi1 ? v1::build(op, auth) : v2::build(op, auth);
}
template <class Op>
error_code parse_for(const Op& op, raw_reply& r, typename Op::result_type& out)
{
    return r.version == server_version::bodhi1 ? v1::parse(op, r, out) : v2::parse(op, r, out);
}

// ---- what every answer needs (pure; unit-tested) -----------------------------------------

// Bodhi 1: 401/403 -> auth_error; other status >= 400 or no JSON -> server_error; `exc` ->
// app_error. The operation's parse handles tg_flash-only failures (app_error_from_flash).
error_code read_bodhi1_answer(const http::response& resp, raw_reply& out);
// Bodhi 2: a Cornice body {"status":"error","errors":[...]} -> app_error (auth_error when an
// entry names auth_tkt, or HTTP 401); a redirect to the login page -> auth_error; other
// redirects, status >= 400, or no JSON where JSON is expected -> server_error.
error_code read_bodhi2_answer(const http::response& resp, bool expect_json, raw_reply& out);

// errc::app_error with diag.extras["errors"] = [{location, name, description}...] and the
// descriptions joined by "; " in diag.message (app_error_name "BodhiError").
error_code app_error_from_entries(diagnostics& d, boost::json::array entries);
// Bodhi 1: one entry {location: "flash", name: "", description: tg_flash}.
error_code app_error_from_flash(diagnostics& d, std::string_view flash);
// True when a Bodhi 2 error list says the CSRF token did not match (refetch once).
bool is_csrf_mismatch(const diagnostics& d);

// ---- detection (pure; unit-tested) -------------------------------------------------------

enum class detect_step : std::uint8_t {
    bodhi2,          // JSON with a version >= 2
    bodhi1,          // JSON with a version < 2
    probe_bodhi1,    // not JSON (HTML page, 404): confirm with POST releases (spec §3.4)
    fail,            // an error: message says why
};
struct detect_outcome
{
    detect_step step = detect_step::fail;
    std::string message;
};
// The answer to GET api_version. JSON without a `version` string -> fail
// (errc::server_error, "not a Bodhi server"); 5xx, 401/403 -> fail.
detect_outcome classify_api_version(unsigned status, std::string_view body);
// The answer to the Bodhi 1 confirmation probe (POST releases, Accept JSON): a JSON object
// with a `releases` array.
bool confirms_bodhi1(unsigned status, std::string_view body);

// sha1 hex of the tg-visit value: Bodhi 1's `_csrf_token`.
std::string bodhi1_csrf_token(std::string_view visit);

// Titles: Bodhi 1 joins NVRs with commas, Bodhi 2 with spaces.
std::string to_bodhi1_key(std::string_view key);
std::string to_bodhi2_key(std::string_view key);

} // namespace fedora::bodhi
