// The shared model, the checks every answer needs, detection: pure code, no I/O.
#include "model.hpp"

#include <fedora/http/client.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/url/url.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace fedora::bodhi {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

std::string_view to_string(server_version v) noexcept
{
    return v == server_version::bodhi1 ? "Bodhi 1" : "Bodhi 2";
}

// ---- session --------------------------------------------------------------------------

namespace {

bool valid_cookie_octets(std::string_view v)
{
    for (unsigned char c : v)
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            return false;
    return true;
}

bool valid_cookie_name(std::string_view v)
{
    if (v.empty())
        return false;
    for (unsigned char c : v)
        if (c <= 0x20 || c >= 0x7f || std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) !=
                                          std::string_view::npos)
            return false;
    return true;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

} // namespace

const std::string* session::cookie(std::string_view name) const noexcept
{
    for (const auto& [k, v] : cookies)
        if (k == name)
            return &v;
    return nullptr;
}

void session::set_cookie(std::string_view name, std::string value)
{
    auto it = std::find_if(cookies.begin(), cookies.end(), [&](const auto& kv) { return kv.first == name; });
    if (value.empty()) {
        if (it != cookies.end())
            cookies.erase(it);
        return;
    }
    if (it != cookies.end())
        it->second = std::move(value);
    else
        cookies.emplace_back(std::string(name), std::move(value));
}

void session::merge_set_cookies(const http::response& resp)
{
    const auto& m = resp.message;
    for (auto it = m.find(bhttp::field::set_cookie); it != m.end() && it->name() == bhttp::field::set_cookie; ++it) {
        std::string_view v = it->value();
        std::string_view pair = v.substr(0, v.find(';'));
        auto eq = pair.find('=');
        if (eq == std::string_view::npos)
            continue;
        std::string_view name = trim(pair.substr(0, eq));
        std::string_view value = trim(pair.substr(eq + 1));
        bool removed = value.empty();
        std::string_view attrs = v.size() > pair.size() ? v.substr(pair.size() + 1) : std::string_view{};
        while (!attrs.empty()) {
            auto semi = attrs.find(';');
            std::string_view a = trim(attrs.substr(0, semi));
            auto aeq = a.find('=');
            if (aeq != std::string_view::npos && iequals(trim(a.substr(0, aeq)), "max-age")) {
                auto n = trim(a.substr(aeq + 1));
                if (!n.empty() && (n.front() == '-' || n == "0"))
                    removed = true;
            }
            attrs = semi == std::string_view::npos ? std::string_view{} : attrs.substr(semi + 1);
        }
        if (!valid_cookie_name(name) || !valid_cookie_octets(value))
            continue;
        set_cookie(name, removed ? std::string() : std::string(value));
    }
}

std::string session::cookie_header() const
{
    std::string out;
    for (const auto& [k, v] : cookies) {
        if (!out.empty())
            out += "; ";
        out += k;
        out += '=';
        out += v;
    }
    return out;
}

bool session::valid() const noexcept
{
    for (const auto& [k, v] : cookies)
        if (!valid_cookie_name(k) || !valid_cookie_octets(v))
            return false;
    return true;
}

// ---- operation_request --------------------------------------------------------------------

operation_request operation_request::refuse(errc e, std::string message)
{
    operation_request r;
    r.refused = make_error_code(e);
    r.refused_message = std::move(message);
    return r;
}

operation_request operation_request::not_supported(std::string_view what, server_version v)
{
    return refuse(errc::not_supported, std::string(what) + " is not supported by " + std::string(to_string(v)));
}

// ---- errors ------------------------------------------------------------------------------

error_code app_error_from_entries(diagnostics& d, json::array entries)
{
    std::string message;
    for (const auto& e : entries) {
        const auto* o = e.if_object();
        if (!o)
            continue;
        std::string desc = detail::str(*o, "description");
        if (desc.empty())
            desc = detail::str(*o, "name");
        if (desc.empty())
            continue;
        if (!message.empty())
            message += "; ";
        message += desc;
    }
    d.message = message.empty() ? "Bodhi reported an error" : std::move(message);
    d.app_error_name = "BodhiError";
    d.extras["errors"] = std::move(entries);
    return make_error_code(errc::app_error);
}

error_code app_error_from_flash(diagnostics& d, std::string_view flash)
{
    json::array entries;
    entries.push_back(json::object{{"location", "flash"}, {"name", ""},
                                   {"description", flash.empty() ? std::string_view("Bodhi refused the request") : flash}});
    return app_error_from_entries(d, std::move(entries));
}

bool is_csrf_mismatch(const diagnostics& d)
{
    const auto* list = d.extras.if_contains("errors");
    if (!list || !list->is_array())
        return false;
    for (const auto& e : list->get_array())
        if (const auto* o = e.if_object(); o && detail::str(*o, "name") == "csrf_token")
            return true;
    return false;
}

namespace {

std::string snippet(std::string_view body) { return mask_secrets(body.substr(0, 1024)); }

json::value parse_json(std::string_view body, error_code& ec)
{
    json::parse_options opt;
    opt.max_depth = 64;
    return json::parse(body, ec, {}, opt);
}

} // namespace

error_code read_bodhi1_answer(const http::response& resp, raw_reply& out)
{
    out.status = resp.status();
    out.diag.http_status = resp.status();
    out.version = server_version::bodhi1;
    out.session.merge_set_cookies(resp);
    const std::string& body = resp.body();
    error_code ec;
    auto v = parse_json(body, ec);
    if (out.status == 401 || out.status == 403) {
        out.diag.message = "Bodhi refused the identity (HTTP " + std::to_string(out.status) + ")";
        if (!ec && v.is_object()) {
            auto m = detail::str(v.get_object(), "message");
            if (m.empty())
                m = detail::str(v.get_object(), "tg_flash");
            if (!m.empty())
                out.diag.message = m;
        }
        return make_error_code(errc::auth_error);
    }
    if (out.status >= 300) {
        out.diag.message = "Bodhi answered HTTP " + std::to_string(out.status);
        out.diag.body_snippet = snippet(body);
        return make_error_code(errc::server_error);
    }
    if (ec) {
        out.diag.message = "the answer is not JSON: " + ec.message();
        out.diag.body_snippet = snippet(body);
        return make_error_code(errc::server_error);
    }
    out.body = std::move(v);
    if (auto* o = out.body.if_object()) {
        if (auto* exc = o->if_contains("exc")) {
            out.diag.app_error_name = exc->is_string() ? std::string(exc->get_string()) : json::serialize(*exc);
            out.diag.message = detail::str(*o, "tg_flash");
            if (out.diag.message.empty())
                out.diag.message = out.diag.app_error_name;
            for (auto& [k, val] : *o)
                if (k != "exc" && k != "tg_flash")
                    out.diag.extras[k] = val;
            return make_error_code(errc::app_error);
        }
    }
    return {};
}

error_code read_bodhi2_answer(const http::response& resp, bool expect_json, raw_reply& out)
{
    out.status = resp.status();
    out.diag.http_status = resp.status();
    out.version = server_version::bodhi2;
    out.session.merge_set_cookies(resp);
    const std::string& body = resp.body();
    if (out.status >= 300 && out.status < 400) {
        std::string location(resp.message[bhttp::field::location]);
        auto path_end = location.find('?');
        std::string path = location.substr(0, path_end);
        bool to_login = path.size() >= 6 && path.compare(path.size() - 6, 6, "/login") == 0;
        if (!expect_json && !to_login)
            return {};
        out.diag.message = to_login ? "Bodhi sent the request to its login page: the call needs a login"
                                    : "Bodhi answered with a redirect to " + mask_secrets(path.substr(0, 200)) +
                                          " instead of the expected JSON (an id that is a package name?)";
        return make_error_code(to_login ? errc::auth_error : errc::server_error);
    }
    error_code ec;
    auto v = body.empty() ? json::value() : parse_json(body, ec);
    if (!ec && v.is_object()) {
        const auto& o = v.get_object();
        if (detail::str(o, "status") == "error" && o.contains("errors") && o.at("errors").is_array()) {
            json::array entries = o.at("errors").get_array();
            bool auth = out.status == 401;
            for (const auto& e : entries)
                if (const auto* eo = e.if_object(); eo && detail::str(*eo, "name") == "auth_tkt")
                    auth = true;
            auto r = app_error_from_entries(out.diag, std::move(entries));
            return auth ? make_error_code(errc::auth_error) : r;
        }
    }
    if (out.status == 401 || out.status == 403) {
        out.diag.message = "Bodhi refused the identity (HTTP " + std::to_string(out.status) + ")";
        out.diag.body_snippet = snippet(body);
        return make_error_code(errc::auth_error);
    }
    if (out.status >= 400) {
        out.diag.message = "Bodhi answered HTTP " + std::to_string(out.status);
        out.diag.body_snippet = snippet(body);
        return make_error_code(errc::server_error);
    }
    if (!expect_json)
        return {};
    if (ec || body.empty()) {
        out.diag.message = ec ? "the answer is not JSON: " + ec.message() : "the answer is empty";
        out.diag.body_snippet = snippet(body);
        return make_error_code(errc::server_error);
    }
    out.body = std::move(v);
    return {};
}

// ---- detection ---------------------------------------------------------------------------

detect_outcome classify_api_version(unsigned status, std::string_view body)
{
    if (status >= 500)
        return {detect_step::fail, "api_version answered HTTP " + std::to_string(status)};
    if (status == 401 || status == 403)
        return {detect_step::fail, "api_version refused the request (HTTP " + std::to_string(status) + ")"};
    error_code ec;
    auto v = parse_json(body, ec);
    if (ec) {
        if ((status >= 200 && status < 400) || status == 404)
            return {detect_step::probe_bodhi1, {}};
        return {detect_step::fail, "api_version answered HTTP " + std::to_string(status) + " without JSON"};
    }
    const auto* o = v.if_object();
    const json::value* ver = o ? o->if_contains("version") : nullptr;
    if (!ver || !ver->is_string())
        return {detect_step::fail,
                "api_version answered JSON without a \"version\" string: not a Bodhi server"};
    std::string_view text = ver->get_string();
    int major = 0;
    auto [p, err] = std::from_chars(text.data(), text.data() + text.size(), major);
    if (err != std::errc{} || p == text.data())
        return {detect_step::fail, "api_version answered an unreadable version: " + std::string(text.substr(0, 40))};
    return {major >= 2 ? detect_step::bodhi2 : detect_step::bodhi1, {}};
}

bool confirms_bodhi1(unsigned status, std::string_view body)
{
    if (status != 200)
        return false;
    error_code ec;
    auto v = parse_json(body, ec);
    if (ec || !v.is_object())
        return false;
    const auto* r = v.get_object().if_contains("releases");
    return r && r->is_array();
}

std::string bodhi1_csrf_token(std::string_view visit)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(visit.data(), visit.size(), digest, &n, EVP_sha1(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(2 * n, '0');
    for (unsigned i = 0; i < n; ++i) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    return out;
}

std::string to_bodhi1_key(std::string_view key)
{
    std::string out(key);
    std::replace(out.begin(), out.end(), ' ', ',');
    return out;
}

std::string to_bodhi2_key(std::string_view key)
{
    std::string out(key);
    std::replace(out.begin(), out.end(), ',', ' ');
    return out;
}

// ---- the model ---------------------------------------------------------------------------

namespace detail {



const json::array* arr(const json::object& o, std::string_view key)
{
    auto* v = o.if_contains(key);
    return v ? v->if_array() : nullptr;
}

error_code wrong_shape(raw_reply& r, std::string what)
{
    r.diag.message = "unexpected answer: " + std::move(what);
    r.diag.body_snippet = mask_secrets(json::serialize(r.body).substr(0, 1024));
    return make_error_code(errc::server_error);
}

std::string package_of_nvr(std::string_view nvr)
{
    auto last = nvr.rfind('-');
    if (last == std::string_view::npos || last == 0)
        return std::string(nvr);
    auto prev = nvr.rfind('-', last - 1);
    if (prev == std::string_view::npos || prev == 0)
        return std::string(nvr);
    return std::string(nvr.substr(0, prev));
}

namespace {

int to_int(std::int64_t v) { return static_cast<int>(std::clamp<std::int64_t>(v, -1000000, 1000000)); }

void common_update(update& u, const json::object& o)
{
    u.title = str(o, "title");
    u.submitter = str(o, "submitter");
    u.type = str(o, "type");
    u.status = str(o, "status");
    u.request = str(o, "request");
    u.notes = str(o, "notes");
    u.karma = to_int(num(o, "karma"));
    u.stable_karma = to_int(num(o, "stable_karma"));
    u.unstable_karma = to_int(num(o, "unstable_karma"));
    u.critpath = flag(o, "critpath");
    u.close_bugs = flag(o, "close_bugs");
    u.date_submitted = str(o, "date_submitted");
    u.date_modified = str(o, "date_modified");
    u.date_pushed = str(o, "date_pushed");
    u.raw = o;
}

} // namespace

release bodhi1_release(const json::object& o)
{
    release r;
    r.name = str(o, "name");
    r.long_name = str(o, "long_name");
    r.id_prefix = str(o, "id_prefix");
    r.dist_tag = str(o, "dist_tag");
    r.locked = flag(o, "locked");
    r.raw = o;
    return r;
}

release bodhi2_release(const json::object& o)
{
    release r;
    r.name = str(o, "name");
    r.long_name = str(o, "long_name");
    r.id_prefix = str(o, "id_prefix");
    r.dist_tag = str(o, "dist_tag");
    r.version = str(o, "version");
    r.branch = str(o, "branch");
    r.state = str(o, "state");
    r.candidate_tag = str(o, "candidate_tag");
    r.testing_tag = str(o, "testing_tag");
    r.stable_tag = str(o, "stable_tag");
    r.override_tag = str(o, "override_tag");
    r.pending_testing_tag = str(o, "pending_testing_tag");
    r.pending_stable_tag = str(o, "pending_stable_tag");
    r.raw = o;
    return r;
}

comment bodhi1_comment(const json::object& o)
{
    comment c;
    c.author = str(o, "author");
    c.group = str(o, "group");
    if (!c.group.empty()) {
        std::string suffix = " (" + c.group + ")";
        if (c.author.size() > suffix.size() &&
            c.author.compare(c.author.size() - suffix.size(), suffix.size(), suffix) == 0)
            c.author.resize(c.author.size() - suffix.size());
    }
    c.anonymous = flag(o, "anonymous");
    c.karma = to_int(num(o, "karma"));
    c.text = str(o, "text");
    c.timestamp = str(o, "timestamp");
    c.update_title = str(o, "update_title");
    c.raw = o;
    return c;
}

comment bodhi2_comment(const json::object& o)
{
    comment c;
    c.id = num(o, "id");
    if (const auto* u = obj(o, "user"))
        c.author = str(*u, "name");
    if (c.author.empty())
        c.author = str(o, "author");
    c.anonymous = flag(o, "anonymous");
    c.karma = to_int(num(o, "karma"));
    c.karma_critpath = to_int(num(o, "karma_critpath"));
    c.text = str(o, "text");
    c.timestamp = str(o, "timestamp");
    c.update_title = str(o, "update_title");
    c.raw = o;
    return c;
}

update bodhi1_update(const json::object& o)
{
    update u;
    common_update(u, o);
    u.key = u.title;
    u.alias = str(o, "updateid");
    u.autokarma = u.stable_karma != 0 || u.unstable_karma != 0;
    if (auto* v = o.if_contains("critpath_approved"); v && v->is_bool())
        u.critpath_approved = v->get_bool();
    u.pushed = !u.date_pushed.empty();
    if (const auto* r = obj(o, "release"))
        u.release = bodhi1_release(*r);
    bool reboot = false;
    if (const auto* builds = arr(o, "builds")) {
        for (const auto& b : *builds) {
            const auto* bo = b.if_object();
            if (!bo)
                continue;
            build out;
            out.nvr = str(*bo, "nvr");
            if (const auto* p = obj(*bo, "package")) {
                out.package = str(*p, "name");
                reboot = reboot || flag(*p, "suggest_reboot");
            }
            if (out.package.empty())
                out.package = package_of_nvr(out.nvr);
            out.raw = *bo;
            u.builds.push_back(std::move(out));
        }
    }
    u.suggest = reboot ? "reboot" : "unspecified";
    if (const auto* bugs = arr(o, "bugs")) {
        for (const auto& b : *bugs) {
            if (const auto* bo = b.if_object()) {
                bug out;
                out.id = num(*bo, "bz_id");
                out.title = str(*bo, "title");
                out.security = flag(*bo, "security");
                out.parent = flag(*bo, "parent");
                out.raw = *bo;
                u.bugs.push_back(std::move(out));
            }
        }
    }
    if (const auto* comments = arr(o, "comments"))
        for (const auto& c : *comments)
            if (const auto* co = c.if_object())
                u.comments.push_back(bodhi1_comment(*co));
    return u;
}

update bodhi2_update(const json::object& o)
{
    update u;
    common_update(u, o);
    u.alias = str(o, "alias");
    u.key = u.alias.empty() ? u.title : u.alias;
    if (u.submitter.empty())
        if (const auto* user = obj(o, "user"))
            u.submitter = str(*user, "name");
    if (auto* v = o.if_contains("autokarma"); v && v->is_bool())
        u.autokarma = v->get_bool();
    u.severity = str(o, "severity");
    u.suggest = str(o, "suggest");
    u.locked = flag(o, "locked");
    u.pushed = flag(o, "pushed");
    if (const auto* r = obj(o, "release"))
        u.release = bodhi2_release(*r);
    if (const auto* builds = arr(o, "builds")) {
        for (const auto& b : *builds) {
            if (const auto* bo = b.if_object()) {
                build out;
                out.nvr = str(*bo, "nvr");
                out.package = package_of_nvr(out.nvr);
                out.raw = *bo;
                u.builds.push_back(std::move(out));
            }
        }
    }
    if (const auto* bugs = arr(o, "bugs")) {
        for (const auto& b : *bugs) {
            if (const auto* bo = b.if_object()) {
                bug out;
                out.id = num(*bo, "bug_id");
                out.title = str(*bo, "title");
                out.security = flag(*bo, "security");
                out.parent = flag(*bo, "parent");
                out.raw = *bo;
                u.bugs.push_back(std::move(out));
            }
        }
    }
    if (const auto* comments = arr(o, "comments"))
        for (const auto& c : *comments)
            if (const auto* co = c.if_object())
                u.comments.push_back(bodhi2_comment(*co));
    return u;
}

override_record bodhi1_override(const json::object& o)
{
    override_record r;
    r.nvr = str(o, "build");
    r.submitter = str(o, "submitter");
    r.notes = str(o, "notes");
    r.submission_date = str(o, "date_submitted");
    r.expiration_date = str(o, "expiration");
    r.expired_date = str(o, "date_expired");
    r.release = str(o, "release");
    r.raw = o;
    return r;
}

override_record bodhi2_override(const json::object& o)
{
    override_record r;
    r.nvr = str(o, "nvr");
    if (r.nvr.empty())
        if (const auto* b = obj(o, "build"))
            r.nvr = str(*b, "nvr");
    if (const auto* s = obj(o, "submitter"))
        r.submitter = str(*s, "name");
    r.notes = str(o, "notes");
    r.submission_date = str(o, "submission_date");
    r.expiration_date = str(o, "expiration_date");
    r.expired_date = str(o, "expired_date");
    r.raw = o;
    return r;
}

package bodhi2_package(const json::object& o)
{
    package p;
    p.name = str(o, "name");
    p.requirements = str(o, "requirements");
    p.raw = o;
    return p;
}

std::vector<caveat> caveats_of(const json::object& o)
{
    std::vector<caveat> out;
    if (const auto* list = arr(o, "caveats"))
        for (const auto& c : *list)
            if (const auto* co = c.if_object())
                out.push_back({str(*co, "name"), str(*co, "description")});
    return out;
}

operation_request make_request(bhttp::verb method, std::string_view fixed_path,
                               std::initializer_list<std::string_view> segments)
{
    operation_request req;
    req.method = method;
    boost::urls::url u("x:/");
    u.set_encoded_path(std::string("/") + std::string(fixed_path));
    for (auto s : segments) {
        if (auto ec = http::append_path_segment(u, s)) {
            return operation_request::refuse(errc::invalid_argument,
                                             s.empty() ? "an empty name cannot be a path segment"
                                                       : "'.' and '..' cannot be path segments");
        }
    }
    req.path = std::string(u.encoded_path()).substr(1);
    req.method = method;
    return req;
}

bool valid_paging(int page, int rows, operation_request& req)
{
    if (page < 1 || rows < 1 || rows > 100) {
        req.refused = make_error_code(errc::invalid_argument);
        req.refused_message = "page must be >= 1 and rows_per_page between 1 and 100";
        return false;
    }
    return true;
}

} // namespace detail
} // namespace fedora::bodhi
