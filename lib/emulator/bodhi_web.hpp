// Internal to the Bodhi emulator applications: request parsing (query, form and JSON
// parameters, cookies, path segments), response building and small crypto helpers.
// Nothing here throws on bad input; parse functions report failure instead.
#pragma once

#include <fedora/emulator/server.hpp>

#include <boost/beast/http/status.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fedora::emulator::bodhi_web {

// Request parameters: the query string, then the body (form-encoded or a JSON object).
// Repeated keys are lists, as TurboGears and colander saw them.
class param_map
{
public:
    void add(std::string key, std::string value) { items_.emplace_back(std::move(key), std::move(value)); }
    bool has(std::string_view key) const;
    // First value of key.
    std::optional<std::string> get(std::string_view key) const;
    std::string get_or(std::string_view key, std::string_view fallback) const;
    // Every value of key, in order.
    std::vector<std::string> all(std::string_view key) const;
    // Every value of key, each split on commas and whitespace, empty parts dropped
    // (colander's splitter, Bodhi 1's "comma or space separated").
    std::vector<std::string> list(std::string_view key) const;
    const std::vector<std::pair<std::string, std::string>>& items() const noexcept { return items_; }
    // The JSON body when there was one (structured fields such as bug_feedback).
    const boost::json::object* json() const noexcept { return json_ ? &*json_ : nullptr; }
    void set_json(boost::json::object o) { json_ = std::move(o); }
    void remove(std::string_view key);

private:
    std::vector<std::pair<std::string, std::string>> items_;
    std::optional<boost::json::object> json_;
};

// Decodes an application/x-www-form-urlencoded string ('+' is a space) into out.
// False on a malformed percent escape.
bool parse_form(std::string_view text, param_map& out);

// Query string plus body. `where` names the part that failed ("querystring" or "body").
bool parse_params(const http_request& request, std::string_view query, param_map& out,
                  std::string& where, std::string& error);

// Cookie header(s) -> name/value (first occurrence wins).
std::map<std::string, std::string, std::less<>> parse_cookies(const http_request& request);

// The decoded segments of a still-encoded path ("/updates/a%20b/" -> {"updates", "a b"}),
// and whether it ended with '/'. nullopt on a malformed escape.
struct split_path_result
{
    std::vector<std::string> segments;
    bool trailing_slash = false;
};
std::optional<split_path_result> split_path(std::string_view encoded_path);

// Percent-encodes everything but unreserved characters (RFC 3986), for query strings.
std::string encode_component(std::string_view text);
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// origin + mount prefix, e.g. "http://127.0.0.1:8080/updates" (no trailing slash).
std::string base_url(const http_request& request, const request_context& context);
// The request path without the query (as sent, still encoded).
std::string_view target_path(const http_request& request);

std::string sha1_hex(std::string_view data);
std::string hmac_sha256_base64(std::string_view key, std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

std::string html_escape(std::string_view text);
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b) noexcept;
std::optional<long long> parse_int(std::string_view text) noexcept;
// colander.Boolean: "false"/"0" (any case) are false, anything else true.
bool colander_bool(std::string_view text) noexcept;
// TurboGears-style: true/1/on/yes (any case) are true.
bool tg_bool(std::string_view text) noexcept;
std::string header_value(const http_request& request, std::string_view name);

http_response make_response(const http_request& request, boost::beast::http::status status,
                            std::string body, std::string_view content_type);
http_response json_response(const http_request& request, boost::beast::http::status status,
                            const boost::json::value& body, std::string_view content_type = "application/json");
http_response html_response(const http_request& request, boost::beast::http::status status,
                            std::string_view title, std::string_view body_html);
http_response redirect(const http_request& request, std::string location,
                       boost::beast::http::status status = boost::beast::http::status::found);
void add_cookie(http_response& response, std::string_view name, std::string_view value,
                std::string_view path = "/", bool http_only = false);
void expire_cookie(http_response& response, std::string_view name, std::string_view path = "/");

// Strips the body of answers to HEAD requests (keeping Content-Length).
void finish_head(const http_request& request, http_response& response);

} // namespace fedora::emulator::bodhi_web
