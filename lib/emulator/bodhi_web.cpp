#include "bodhi_web.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace fedora::emulator::bodhi_web {

namespace http = boost::beast::http;
namespace json = boost::json;
namespace urls = boost::urls;

bool param_map::has(std::string_view key) const
{
    return std::any_of(items_.begin(), items_.end(), [&](const auto& kv) { return kv.first == key; });
}

std::optional<std::string> param_map::get(std::string_view key) const
{
    for (const auto& [k, v] : items_)
        if (k == key)
            return v;
    return std::nullopt;
}

std::string param_map::get_or(std::string_view key, std::string_view fallback) const
{
    auto v = get(key);
    return v ? *v : std::string(fallback);
}

std::vector<std::string> param_map::all(std::string_view key) const
{
    std::vector<std::string> out;
    for (const auto& [k, v] : items_)
        if (k == key)
            out.push_back(v);
    return out;
}

std::vector<std::string> param_map::list(std::string_view key) const
{
    std::vector<std::string> out;
    for (const auto& [k, v] : items_) {
        if (k != key)
            continue;
        std::string current;
        for (char c : v) {
            if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
                if (!current.empty())
                    out.push_back(std::move(current));
                current.clear();
            } else {
                current.push_back(c);
            }
        }
        if (!current.empty())
            out.push_back(std::move(current));
    }
    return out;
}

void param_map::remove(std::string_view key)
{
    std::erase_if(items_, [&](const auto& kv) { return kv.first == key; });
}

namespace {

std::optional<std::string> decode_part(std::string_view part, bool plus_as_space)
{
    auto pct = urls::make_pct_string_view(part);
    if (!pct)
        return std::nullopt;
    urls::encoding_opts opt;
    opt.space_as_plus = plus_as_space;
    return pct->decode(opt);
}

void add_json_scalar(param_map& out, const std::string& key, const json::value& v)
{
    switch (v.kind()) {
    case json::kind::string: out.add(key, std::string(v.get_string())); break;
    case json::kind::bool_: out.add(key, v.get_bool() ? "true" : "false"); break;
    case json::kind::int64: out.add(key, std::to_string(v.get_int64())); break;
    case json::kind::uint64: out.add(key, std::to_string(v.get_uint64())); break;
    case json::kind::double_: out.add(key, json::serialize(v)); break;
    default: break; // null, nested objects: only through json()
    }
}

} // namespace

bool parse_form(std::string_view text, param_map& out)
{
    while (!text.empty()) {
        auto amp = text.find('&');
        std::string_view part = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (part.empty())
            continue;
        auto eq = part.find('=');
        auto key = decode_part(part.substr(0, eq), true);
        auto value = decode_part(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
        if (!key || !value)
            return false;
        out.add(std::move(*key), std::move(*value));
    }
    return true;
}

bool parse_params(const http_request& request, std::string_view query, param_map& out, std::string& where,
                  std::string& error)
{
    if (!parse_form(query, out)) {
        where = "querystring";
        error = "Malformed percent-encoding in the query string";
        return false;
    }
    const std::string& body = request.body();
    if (body.empty())
        return true;
    std::string type = to_lower(header_value(request, "Content-Type"));
    auto trimmed = std::string_view(body);
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
        trimmed.remove_prefix(1);
    bool is_json = type.find("json") != std::string::npos
        || (type.empty() && !trimmed.empty() && trimmed.front() == '{');
    if (is_json) {
        boost::system::error_code ec;
        json::value v = json::parse(body, ec);
        if (ec || !v.is_object()) {
            where = "body";
            error = ec ? "Invalid JSON body: " + ec.message() : "The JSON body must be an object";
            return false;
        }
        for (const auto& [k, val] : v.get_object()) {
            std::string key(k);
            if (val.is_array()) {
                for (const auto& item : val.get_array())
                    add_json_scalar(out, key, item);
            } else {
                add_json_scalar(out, key, val);
            }
        }
        out.set_json(std::move(v.get_object()));
        return true;
    }
    if (type.find("multipart/") != std::string::npos) {
        where = "body";
        error = "Unsupported Content-Type: " + type;
        return false;
    }
    if (!parse_form(body, out)) {
        where = "body";
        error = "Malformed percent-encoding in the form body";
        return false;
    }
    return true;
}

std::map<std::string, std::string, std::less<>> parse_cookies(const http_request& request)
{
    std::map<std::string, std::string, std::less<>> out;
    for (const auto& field : request.base()) {
        if (field.name() != http::field::cookie)
            continue;
        std::string_view text = field.value();
        while (!text.empty()) {
            auto semi = text.find(';');
            std::string_view part = text.substr(0, semi);
            text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
            while (!part.empty() && part.front() == ' ')
                part.remove_prefix(1);
            while (!part.empty() && part.back() == ' ')
                part.remove_suffix(1);
            auto eq = part.find('=');
            if (eq == std::string_view::npos || eq == 0)
                continue;
            std::string_view value = part.substr(eq + 1);
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            out.emplace(std::string(part.substr(0, eq)), std::string(value));
        }
    }
    return out;
}

std::optional<split_path_result> split_path(std::string_view encoded_path)
{
    split_path_result out;
    while (!encoded_path.empty() && encoded_path.front() == '/')
        encoded_path.remove_prefix(1);
    if (encoded_path.empty())
        return out;
    out.trailing_slash = encoded_path.back() == '/';
    if (out.trailing_slash)
        encoded_path.remove_suffix(1);
    while (true) {
        auto slash = encoded_path.find('/');
        auto seg = decode_part(encoded_path.substr(0, slash), false);
        if (!seg)
            return std::nullopt;
        out.segments.push_back(std::move(*seg));
        if (slash == std::string_view::npos)
            break;
        encoded_path = encoded_path.substr(slash + 1);
    }
    return out;
}

std::string encode_component(std::string_view text)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields)
{
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty())
            out.push_back('&');
        out += encode_component(k);
        out.push_back('=');
        out += encode_component(v);
    }
    return out;
}

std::string_view target_path(const http_request& request)
{
    std::string_view target = request.target();
    auto q = target.find('?');
    std::string_view path = target.substr(0, q);
    // Absolute-form targets (proxies): drop scheme and authority.
    if (auto scheme = path.find("://"); scheme != std::string_view::npos && path.front() != '/') {
        auto slash = path.find('/', scheme + 3);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return path;
}

std::string base_url(const http_request& request, const request_context& context)
{
    std::string_view path = target_path(request);
    std::string_view in_app = context.path_in_app;
    std::string_view prefix;
    if (path.size() >= in_app.size() && path.substr(path.size() - in_app.size()) == in_app)
        prefix = path.substr(0, path.size() - in_app.size());
    while (!prefix.empty() && prefix.back() == '/')
        prefix.remove_suffix(1);
    std::string origin = context.origin;
    while (!origin.empty() && origin.back() == '/')
        origin.pop_back();
    return origin + std::string(prefix);
}

std::string sha1_hex(std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha1(), nullptr) != 1)
        return {};
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

std::string hmac_sha256_base64(std::string_view key, std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data(), &len))
        return {};
    std::string out(4 * ((len + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), md.data(), static_cast<int>(len));
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    if (text.empty() || text.size() % 4 != 0 || text.size() > 1 << 16)
        return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0)
        return std::nullopt;
    std::size_t pad = 0;
    if (text.back() == '=')
        ++pad;
    if (text.size() >= 2 && text[text.size() - 2] == '=')
        ++pad;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

std::string html_escape(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out.push_back(c);
        }
    }
    return out;
}

std::string to_lower(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::optional<long long> parse_int(std::string_view text) noexcept
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    if (!text.empty() && text.front() == '+')
        text.remove_prefix(1);
    long long v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty())
        return std::nullopt;
    return v;
}

bool colander_bool(std::string_view text) noexcept
{
    return !(iequals(text, "false") || text == "0");
}

bool tg_bool(std::string_view text) noexcept
{
    return iequals(text, "true") || text == "1" || iequals(text, "on") || iequals(text, "yes");
}

std::string header_value(const http_request& request, std::string_view name)
{
    auto it = request.base().find(name);
    if (it == request.base().end())
        return {};
    return std::string(it->value());
}

http_response make_response(const http_request& request, http::status status, std::string body,
                            std::string_view content_type)
{
    http_response res{status, request.version()};
    res.set(http::field::server, "fedora-emulator");
    res.set(http::field::content_type, content_type);
    res.keep_alive(request.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

http_response json_response(const http_request& request, http::status status, const json::value& body,
                            std::string_view content_type)
{
    return make_response(request, status, json::serialize(body), content_type);
}

http_response html_response(const http_request& request, http::status status, std::string_view title,
                            std::string_view body_html)
{
    std::string body = "<!DOCTYPE html>\n<html><head><title>";
    body += html_escape(title);
    body += "</title></head><body>\n<h1>";
    body += html_escape(title);
    body += "</h1>\n";
    body += body_html;
    body += "\n</body></html>\n";
    return make_response(request, status, std::move(body), "text/html; charset=UTF-8");
}

http_response redirect(const http_request& request, std::string location, http::status status)
{
    std::string body = "<html><body><p>The resource was found at <a href=\"" + html_escape(location) + "\">"
        + html_escape(location) + "</a>.</p></body></html>\n";
    auto res = make_response(request, status, std::move(body), "text/html; charset=UTF-8");
    res.set(http::field::location, location);
    return res;
}

void add_cookie(http_response& response, std::string_view name, std::string_view value, std::string_view path,
                bool http_only)
{
    std::string v(name);
    v += '=';
    v += value;
    v += "; Path=";
    v += path;
    if (http_only)
        v += "; HttpOnly";
    response.insert(http::field::set_cookie, v);
}

void expire_cookie(http_response& response, std::string_view name, std::string_view path)
{
    std::string v(name);
    v += "=; Max-Age=0; Path=";
    v += path;
    v += "; expires=Wed, 31-Dec-97 23:59:59 GMT";
    response.insert(http::field::set_cookie, v);
}

void finish_head(const http_request& request, http_response& response)
{
    if (request.method() != http::verb::head)
        return;
    auto n = response.body().size();
    response.body().clear();
    response.content_length(n);
}

} // namespace fedora::emulator::bodhi_web
