// FAS operations as data: each is a small struct holding its arguments, with
//   operation_request build() const;                  // pure: path + form fields
//   error_code parse(raw_reply&, result_type&) const; // pure: the answer -> typed result
// run by one generic path (proxy_client::async_run, account_system::async_run). Names of
// operations and parameters are python-fedora's. The generic path adds the base URL,
// the headers, the auth material, sends it, and does what every FAS answer needs
// (401/403 -> auth_error, status >= 400 or no JSON -> server_error, `exc` -> app_error,
// the `tg-visit` cookie) before `parse` sees it.
#pragma once

#include <fedora/error.hpp>
#include <fedora/fas/types.hpp>
#include <fedora/http/encoding.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fedora::fas {

// Who makes a request. A value passed with each call, never stored by proxy_client.
struct auth_params
{
    std::string username;
    std::string password;
    std::string session_id;  // a `tg-visit` value; sent as the cookie plus _csrf_token
    bool http_basic = false; // credentials as HTTP Basic instead of login form fields

    static auth_params anonymous() { return {}; }
    static auth_params credentials(std::string user, std::string pass, bool basic = false)
    {
        return {std::move(user), std::move(pass), {}, basic};
    }
    static auth_params session(std::string id) { return {{}, {}, std::move(id), false}; }

    bool has_credentials() const noexcept { return !username.empty() && !password.empty(); }
    bool has_session() const noexcept { return !session_id.empty(); }
    bool is_anonymous() const noexcept { return username.empty() && password.empty() && session_id.empty(); }
};

namespace detail {
class json_dump_sink;
class streamed_person;
}

// What an operation asks the generic path to send (always a POST, as python-fedora did).
struct operation_request
{
    std::string path;                 // relative to the base URL, already encoded
    http::form form;
    bool safe_to_repeat = true;       // reads: may be retried; writes never are
    bool needs_auth = true;           // refuse before I/O without credentials or session
    bool credentials_only = false;    // send username/password but never the session
    bool follow_redirects = true;
    error_code refused;               // the caller's input is invalid: fail before any I/O
    std::string refused_message;
    // Set by dump operations: their answer is read as it arrives (see json_dump_sink).
    std::shared_ptr<detail::json_dump_sink> sink;
};

// A FAS answer after the common checks, before the operation's own reading.
struct raw_reply
{
    // With `streamed`, the answer minus the elements a dump operation took as they came.
    boost::json::value body;
    bool streamed = false;
    unsigned status = 0;
    std::string session_id;  // Set-Cookie: tg-visit of the final response, or ""
    diagnostics diag;
};

namespace ops {

// Builds an operation_request from the path segments' raw values (each encoded as exactly
// one segment, so '/', '..' and '%' cannot escape) and records invalid input.
operation_request make_request(std::string_view fixed_path,
                               std::initializer_list<std::string_view> segments = {});

// ---- FasProxyClient ------------------------------------------------------------------

struct login
{
    using result_type = login_info;
    std::string username, password;  // carried as auth_params by the caller
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

struct logout
{
    using result_type = none;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// POST to the base URL itself: any request refreshes the session's expiry.
struct refresh_session
{
    using result_type = boost::json::object;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// POST home: true when the identity is accepted. (False comes from the auth_error; the
// client turns that into `false`, as python-fedora did.)
struct verify_home
{
    using result_type = bool;
    bool credentials_only = false;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
    // An auth error (from FAS, or a missing identity before any I/O) means `false`.
    error_code recover(error_code ec, raw_reply& r, result_type& out) const;
};

struct get_user_info
{
    using result_type = person;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;

    // Made by each build(): the person, read as the answer streams in.
    mutable std::shared_ptr<detail::streamed_person> streamed;
};

// FasProxyClient.person_by_id: app_error ("Generic AppError") when FAS says no.
struct proxy_person_by_id
{
    using result_type = person;
    std::int64_t person_id = 0;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;

    // Made by each build(): the person, read as the answer streams in.
    mutable std::shared_ptr<detail::streamed_person> streamed;
};

struct group_list_op
{
    using result_type = group_list;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// Any endpoint without a typed wrapper: the JSON as it came.
struct send_request
{
    using result_type = boost::json::value;
    std::string method;   // relative path, e.g. "json/user_id"; each '/'-separated part is encoded
    http::form req_params;
    bool safe_to_repeat = false;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// ---- AccountSystem ---------------------------------------------------------------------

// nullopt when FAS has no such person (python-fedora returned {}).
struct person_by_id
{
    using result_type = std::optional<person>;
    std::int64_t person_id = 0;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;

    // Made by each build(): the person, read as the answer streams in.
    mutable std::shared_ptr<detail::streamed_person> streamed;
};

struct person_by_username
{
    using result_type = std::optional<person>;
    std::string username;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;

    // Made by each build(): the person, read as the answer streams in.
    mutable std::shared_ptr<detail::streamed_person> streamed;
};

struct group_by_id
{
    using result_type = std::optional<group>;
    std::int64_t group_id = 0;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// app_error "FASError" for an unknown group, as python-fedora.
struct group_by_name
{
    using result_type = group;
    std::string groupname;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

struct group_members
{
    using result_type = std::vector<member>;
    std::string groupname;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// user/list. key: "id", "username" or "email"; fields from USERFIELDS (empty = all).
// Streams: each person is read into the result as the answer arrives.
struct people_by_key
{
    using result_type = people_map;
    std::string key = "username";
    std::string search = "*";
    std::vector<std::string> fields;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
    static const std::vector<std::string>& user_fields();

    // Made by each build(), so that each run of a copy of the operation has its own.
    mutable std::shared_ptr<result_type> streamed;
};

struct user_id
{
    using result_type = std::map<std::int64_t, std::string>;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// group/dump of every group: rows of [username, email, human_name, role_type, sponsored].
struct group_dump_all
{
    using result_type = std::vector<boost::json::array>;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

struct people_query
{
    using result_type = std::vector<boost::json::object>;
    std::vector<std::pair<std::string, std::string>> constraints;  // column -> LIKE pattern
    std::vector<std::string> columns;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// Streams: each entry is read into the result as the answer arrives.
struct user_data
{
    using result_type = std::map<std::string, user_data_entry>;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;

    // Made by each build(), so that each run of a copy of the operation has its own.
    mutable std::shared_ptr<result_type> streamed;
};

struct group_data
{
    using result_type = std::map<std::string, group_data_entry>;
    bool force_refresh = false;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

struct get_config
{
    using result_type = std::optional<std::string>;
    std::string username, application, attribute;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

struct get_configs_like
{
    using result_type = std::map<std::string, std::string>;
    std::string username, application, pattern = "*";
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

struct set_config
{
    using result_type = none;
    std::string username, application, attribute, value;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// group/create: the answer is the new group's page (group/view after the redirect).
struct create_group
{
    using result_type = boost::json::object;
    std::string name, display_name, owner, group_type;
    int invite_only = 0, needs_sponsor = 0, user_can_remove = 1;
    std::string prerequisite, joinmsg, apply_rules = "None";
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

// "cert\nkey" (PEM certificate, then the private key); cla_error without a signed CLA.
struct user_gencert
{
    using result_type = std::string;
    operation_request build() const;
    error_code parse(raw_reply& r, result_type& out) const;
};

} // namespace ops

// ---- avatar URLs (pure; spec: python-fedora 1.1.1 avatar_url) ---------------------------

enum class avatar_service { libravatar, gravatar };

// The URL for a known e-mail (gravatar) or username (libravatar, by OpenID identity).
// size must be 32, 64 or 140 (invalid_argument otherwise). An empty default_url takes
// Fedora's infinity logo of that size. libravatar uses cdn.libravatar.org (no DNS SRV
// delegation lookup).
std::string gravatar_url_for_email(std::string_view email, int size, std::string_view default_url);
std::string libravatar_url_for_username(std::string_view username, int size,
                                        std::string_view default_url);
bool valid_avatar_size(int size) noexcept;

// sha1 hex of the session id: the `_csrf_token` FAS expects next to the cookie.
std::string csrf_token_for(std::string_view session_id);

} // namespace fedora::fas
