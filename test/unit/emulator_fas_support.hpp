// Helpers for the FAS emulator unit tests: build Beast requests, call handle() directly
// (no sockets), and read the answers.
#pragma once

#include <fedora/emulator/fas.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fas_test {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace fedora::emulator;

// A clock the tests move by hand.
struct manual_clock
{
    std::atomic<std::int64_t> seconds{1'526'643'051}; // Fri May 18 11:30:51 2018 UTC
    std::chrono::system_clock::time_point now() const
    {
        return std::chrono::system_clock::time_point{std::chrono::seconds{seconds.load()}};
    }
    void advance(std::chrono::seconds s) { seconds += s.count(); }
};

struct request_options
{
    http::verb method = http::verb::post;
    std::string query;                 // without '?'
    std::string body;                  // form body (POST)
    std::string visit;                 // tg-visit cookie value, "" = none
    bool csrf = true;                  // add _csrf_token=sha1(visit) when visit is set
    std::string csrf_override;         // a specific _csrf_token value instead
    std::string accept = "application/json";
    std::vector<std::pair<http::field, std::string>> headers;
    unsigned version = 11;
    std::string content_type = "application/x-www-form-urlencoded";
};

struct answer
{
    http_response res;
    unsigned status() const { return res.result_int(); }
    const std::string& body() const { return res.body(); }
    std::string header(http::field f) const { return std::string(res[f]); }
    // The tg-visit value of Set-Cookie ("" if none).
    std::string visit() const
    {
        for (auto it = res.find(http::field::set_cookie); it != res.end(); ++it) {
            if (it->name() != http::field::set_cookie) continue;
            std::string v(it->value());
            if (v.rfind("tg-visit=", 0) == 0) return v.substr(9, v.find(';') - 9);
        }
        return {};
    }
    std::vector<std::string> cookies() const
    {
        std::vector<std::string> out;
        for (const auto& f : res)
            if (f.name() == http::field::set_cookie) out.emplace_back(f.value());
        return out;
    }
    json::value json() const { return json::parse(res.body()); }
    json::object obj() const { return json().as_object(); }
};

inline std::string form_escape(std::string_view s)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += ch;
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// k=v&k=v with form escaping.
inline std::string form(std::initializer_list<std::pair<std::string_view, std::string_view>> kv)
{
    std::string out;
    for (const auto& [k, v] : kv) {
        if (!out.empty()) out += '&';
        out += form_escape(k);
        out += '=';
        out += form_escape(v);
    }
    return out;
}

struct fas_env
{
    explicit fas_env(fas_app_params params = {}, fas_data_params data = small_data())
        : clock(std::make_shared<manual_clock>()),
          dir(fas_directory::generate(data)),
          app(dir, with_clock(std::move(params), clock))
    {
    }

    static fas_data_params small_data()
    {
        fas_data_params d;
        d.seed = 7;
        d.people = 60;
        d.groups = 8;
        return d;
    }
    static fas_app_params with_clock(fas_app_params p, std::shared_ptr<manual_clock> c)
    {
        if (!p.clock) p.clock = [c] { return c->now(); };
        return p;
    }

    answer send(std::string_view path, request_options o = {})
    {
        http_request req;
        req.method(o.method);
        std::string target = "/accounts" + std::string(path);
        if (!o.query.empty()) target += "?" + o.query;
        req.target(target);
        req.version(o.version);
        req.set(http::field::host, "127.0.0.1:8080");
        if (!o.accept.empty()) req.set(http::field::accept, o.accept);
        std::string body = o.body;
        if (!o.visit.empty()) {
            req.set(http::field::cookie, "tg-visit=" + o.visit);
            std::string token = o.csrf_override.empty() ? fas_csrf_token(o.visit) : o.csrf_override;
            if (o.csrf || !o.csrf_override.empty())
                body += (body.empty() ? "" : "&") + std::string("_csrf_token=") + token;
        }
        for (auto& [f, v] : o.headers) req.insert(f, v);
        if (!body.empty() && !o.content_type.empty()) req.set(http::field::content_type, o.content_type);
        req.body() = body;
        req.prepare_payload();
        request_context ctx;
        ctx.path_in_app = std::string(path);
        ctx.query = o.query;
        ctx.origin = "http://127.0.0.1:8080";
        return answer{app.handle(req, ctx)};
    }

    // POST /login; returns the session key (CHECKs success).
    std::string login(std::string_view user, std::string_view password)
    {
        request_options o;
        o.body = form({{"user_name", user}, {"password", password}, {"login", "Login"}});
        auto a = send("/login", o);
        if (a.status() != 200) return {};
        return a.visit();
    }

    answer as(const std::string& visit, std::string_view path, std::string body = {},
              std::string query = {})
    {
        request_options o;
        o.visit = visit;
        o.body = std::move(body);
        o.query = std::move(query);
        return send(path, o);
    }

    std::shared_ptr<manual_clock> clock;
    std::shared_ptr<fas_directory> dir;
    fas_application app;
};

} // namespace fas_test
