// Test support for the Bodhi emulator applications: a tiny browser that calls handle()
// directly (no sockets), keeps a cookie jar, and dispatches by mount prefix.
#pragma once

#include <fedora/emulator/bodhi.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bodhi_test {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace fedora::emulator;

inline const std::string origin = "http://127.0.0.1:8080";
// 2015-09-15 12:00:00 UTC: a fixed clock keeps dates and aliases reproducible.
inline constexpr bodhi_time start = 1442318400;

inline std::string enc(std::string_view text)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
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

using fields = std::vector<std::pair<std::string, std::string>>;

// Bodhi 1's CSRF token: the lowercase hex SHA-1 of the tg-visit value.
inline std::string sha1hex(const std::string& s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr);
    std::string out;
    char buf[3];
    for (unsigned i = 0; i < len; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", md[i]);
        out += buf;
    }
    return out;
}

inline std::string form(const fields& f)
{
    std::string out;
    for (const auto& [k, v] : f) {
        if (!out.empty())
            out += '&';
        out += enc(k) + "=" + enc(v);
    }
    return out;
}

inline json::value body_json(const http_response& r)
{
    boost::system::error_code ec;
    auto v = json::parse(r.body(), ec);
    return ec ? json::value(nullptr) : v;
}

inline std::string header(const http_response& r, http::field f)
{
    auto it = r.find(f);
    return it == r.end() ? std::string() : std::string(it->value());
}

inline std::string url_decode(std::string_view v)
{
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '+') {
            out += ' ';
        } else if (v[i] == '%' && i + 2 < v.size()) {
            out += static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += v[i];
        }
    }
    return out;
}

// Every "k=v" of a URL's query, decoded.
inline fields query_fields(const std::string& url)
{
    fields out;
    auto q = url.find('?');
    if (q == std::string::npos)
        return out;
    std::string_view rest = std::string_view(url).substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view part = rest.substr(0, amp);
        auto eq = part.find('=');
        out.emplace_back(url_decode(part.substr(0, eq)),
                         eq == std::string_view::npos ? std::string() : url_decode(part.substr(eq + 1)));
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    }
    return out;
}

// The query value of `key` in a URL (first occurrence), decoded.
inline std::string query_param(const std::string& url, const std::string& key)
{
    for (auto& [k, v] : query_fields(url))
        if (k == key)
            return v;
    return {};
}

// A browser over several applications mounted on one origin.
class browser
{
public:
    void mount(std::string prefix, std::shared_ptr<application> app) { apps_.emplace_back(std::move(prefix), std::move(app)); }

    // `target` is a path with query ("/bodhi/updates/?page=2") or an absolute URL on origin.
    http_response send(http::verb method, std::string target, std::string body = {},
                       std::string content_type = "application/x-www-form-urlencoded",
                       std::vector<std::pair<http::field, std::string>> extra = {})
    {
        if (target.rfind(origin, 0) == 0)
            target = target.substr(origin.size());
        http_request req{method, target, 11};
        req.set(http::field::host, "127.0.0.1:8080");
        if (!body.empty())
            req.set(http::field::content_type, content_type);
        std::string cookie;
        for (const auto& [k, v] : jar) {
            if (!cookie.empty())
                cookie += "; ";
            cookie += k + "=" + v;
        }
        if (!cookie.empty())
            req.set(http::field::cookie, cookie);
        for (auto& [f, v] : extra)
            req.set(f, v);
        req.body() = std::move(body);
        req.prepare_payload();

        std::string path = target.substr(0, target.find('?'));
        std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
        application* best = nullptr;
        std::string best_prefix;
        for (auto& [prefix, app] : apps_) {
            if (path.rfind(prefix, 0) == 0 && (path.size() == prefix.size() || path[prefix.size()] == '/')
                && prefix.size() >= best_prefix.size()) {
                best = app.get();
                best_prefix = prefix;
            }
        }
        REQUIRE(best != nullptr);
        request_context ctx{path.substr(best_prefix.size()), query, origin, false};
        http_response res = best->handle(req, ctx);
        for (const auto& f : res.base()) {
            if (f.name() != http::field::set_cookie)
                continue;
            std::string v(f.value());
            std::string pair = v.substr(0, v.find(';'));
            auto eq = pair.find('=');
            std::string name = pair.substr(0, eq), value = pair.substr(eq + 1);
            if (v.find("Max-Age=0") != std::string::npos)
                jar.erase(name);
            else
                jar[name] = value;
        }
        return res;
    }

    http_response get(std::string target, std::vector<std::pair<http::field, std::string>> extra = {})
    {
        return send(http::verb::get, std::move(target), {}, {}, std::move(extra));
    }
    http_response post(std::string target, const fields& f, std::vector<std::pair<http::field, std::string>> extra = {})
    {
        return send(http::verb::post, std::move(target), form(f), "application/x-www-form-urlencoded", std::move(extra));
    }
    http_response post_json(std::string target, const json::value& v)
    {
        return send(http::verb::post, std::move(target), json::serialize(v), "application/json");
    }

    std::map<std::string, std::string> jar;

private:
    std::vector<std::pair<std::string, std::shared_ptr<application>>> apps_;
};

inline std::shared_ptr<bodhi_data> make_data(std::size_t updates = 120, std::size_t bulk = 0)
{
    bodhi_data_params p;
    p.start_time = start;
    p.updates = updates;
    p.bulk_updates = bulk;
    return std::make_shared<bodhi_data>(p);
}

} // namespace bodhi_test
