// Bodhi 2 (Pyramid + Cornice) personality of the emulator.
#include <fedora/emulator/bodhi.hpp>

#include "bodhi_web.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <exception>
#include <mutex>
#include <set>
#include <unordered_map>

namespace fedora::emulator {

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace bodhi_web;

constexpr std::string_view request_choices = "testing, stable, obsolete, unpush, revoke";

json::value opt_time(const std::optional<bodhi_time>& t)
{
    return t ? json::value(format_bodhi_time(*t)) : json::value(nullptr);
}

json::value nullable(std::string_view s)
{
    return s.empty() ? json::value(nullptr) : json::value(s);
}

json::object user_json(const bodhi_state& s, std::string_view name)
{
    json::object o;
    if (const auto* u = s.find_user(name)) {
        o["id"] = u->id;
        o["name"] = u->name;
        o["email"] = u->email;
        o["avatar"] = "https://avatars.example.org/" + u->name;
        o["openid"] = u->name + ".id.fedoraproject.org";
        json::array groups;
        for (const auto& g : u->groups)
            groups.push_back(json::object{{"name", g}});
        o["groups"] = std::move(groups);
    } else {
        // Anonymous commenters are known by their e-mail address only.
        o["id"] = 0;
        o["name"] = name;
        o["email"] = name;
        o["avatar"] = "https://avatars.example.org/anonymous";
        o["openid"] = nullptr;
        o["groups"] = json::array{};
    }
    return o;
}

json::object release_json(const bodhi_release& r)
{
    return json::object{{"name", r.name},
                        {"long_name", r.long_name},
                        {"version", r.version},
                        {"id_prefix", r.id_prefix},
                        {"branch", r.branch},
                        {"dist_tag", r.dist_tag},
                        {"stable_tag", r.stable_tag},
                        {"testing_tag", r.testing_tag},
                        {"candidate_tag", r.candidate_tag},
                        {"pending_testing_tag", r.pending_testing_tag},
                        {"pending_stable_tag", r.pending_stable_tag},
                        {"override_tag", r.override_tag},
                        {"state", to_string(r.state)}};
}

json::object override_json(const bodhi_state& s, const bodhi_override& o, bool with_build = true)
{
    const auto* b = s.build(o.build_id);
    const auto* u = s.find_user(o.submitter);
    json::object j{{"build_id", o.build_id},
                   {"submitter_id", u ? u->id : 0},
                   {"notes", o.notes},
                   {"submission_date", format_bodhi_time(o.submission_date)},
                   {"expiration_date", format_bodhi_time(o.expiration_date)},
                   {"expired_date", opt_time(o.expired_date)},
                   {"nvr", b ? b->nvr : std::string()}};
    if (with_build && b)
        j["build"] = json::object{{"nvr", b->nvr}, {"release_id", b->release_id}, {"signed", true}};
    j["submitter"] = user_json(s, o.submitter);
    return j;
}

json::object build_json(const bodhi_state& s, const bodhi_build& b)
{
    json::object j{{"nvr", b.nvr}, {"release_id", b.release_id}, {"signed", true}};
    const auto* o = b.override_id ? s.override_record(b.override_id) : nullptr;
    j["override"] = o ? json::value(override_json(s, *o, false)) : json::value(nullptr);
    return j;
}

json::object comment_json(const bodhi_state& s, const bodhi_comment& c)
{
    const auto* u = s.find_user(c.author);
    json::array bugs, tests;
    for (const auto& [bug_id, karma] : c.bug_feedback)
        bugs.push_back(json::object{{"bug_id", bug_id}, {"karma", karma}, {"comment_id", c.id}});
    for (const auto& [name, karma] : c.testcase_feedback)
        tests.push_back(json::object{{"testcase_name", name}, {"karma", karma}, {"comment_id", c.id}});
    return json::object{{"id", c.id},
                        {"karma", c.karma},
                        {"karma_critpath", c.karma_critpath},
                        {"text", c.text},
                        {"anonymous", c.anonymous},
                        {"timestamp", format_bodhi_time(c.timestamp)},
                        {"update_id", c.update_id},
                        {"user_id", u ? u->id : 0},
                        {"user", user_json(s, c.author)},
                        {"bug_feedback", std::move(bugs)},
                        {"testcase_feedback", std::move(tests)}};
}

// comments_as_ids: inside a comment, the update's comments are ids (as Bodhi's JSON
// expansion stopped at types it had already seen).
json::object update_json(const bodhi_state& s, const bodhi_update& u, bool comments_as_ids = false)
{
    json::object j;
    j["title"] = s.title(u, ' ');
    j["alias"] = u.alias;
    j["updateid"] = u.alias;
    j["old_updateid"] = nullptr;
    j["submitter"] = u.submitter;
    j["user"] = user_json(s, u.submitter);
    j["karma"] = u.karma;
    j["stable_karma"] = u.stable_karma;
    j["unstable_karma"] = u.unstable_karma;
    j["autokarma"] = u.autokarma;
    j["requirements"] = u.requirements;
    j["require_bugs"] = u.require_bugs;
    j["require_testcases"] = u.require_testcases;
    j["notes"] = u.notes;
    j["type"] = to_string(u.type);
    j["status"] = to_string(u.status);
    j["request"] = u.request == update_request::none ? json::value(nullptr) : json::value(to_string(u.request));
    j["severity"] = to_string(u.severity);
    j["suggest"] = to_string(u.suggest);
    j["locked"] = u.locked;
    j["pushed"] = u.pushed;
    j["critpath"] = u.critpath;
    j["close_bugs"] = u.close_bugs;
    j["meets_testing_requirements"] = s.meets_testing_requirements(u);
    j["date_submitted"] = format_bodhi_time(u.date_submitted);
    j["date_modified"] = opt_time(u.date_modified);
    j["date_approved"] = opt_time(u.date_approved);
    j["date_pushed"] = opt_time(u.date_pushed);
    j["date_testing"] = opt_time(u.date_testing);
    j["date_stable"] = opt_time(u.date_stable);
    if (const auto* r = s.release(u.release_id))
        j["release"] = release_json(*r);
    json::array builds;
    for (auto id : u.builds)
        if (const auto* b = s.build(id))
            builds.push_back(build_json(s, *b));
    j["builds"] = std::move(builds);
    json::array bugs;
    for (auto id : u.bugs) {
        const auto* b = s.bug(id);
        bugs.push_back(json::object{{"bug_id", id},
                                    {"title", b ? b->title : std::string()},
                                    {"security", b && b->security},
                                    {"parent", b && b->parent},
                                    {"url", nullptr},
                                    {"feedback", json::array{}}});
    }
    j["bugs"] = std::move(bugs);
    json::array cves;
    for (const auto& c : u.cves)
        cves.push_back(json::object{{"cve_id", c}});
    j["cves"] = std::move(cves);
    json::array comments;
    for (auto id : u.comments) {
        if (comments_as_ids)
            comments.push_back(id);
        else if (const auto* c = s.comment(id))
            comments.push_back(comment_json(s, *c));
    }
    j["comments"] = std::move(comments);
    j["test_cases"] = json::array{};
    return j;
}

// The top-level comment shape (POST comments/, GET comments/): plus author, update_title
// and the whole update.
json::object full_comment_json(const bodhi_state& s, const bodhi_comment& c)
{
    json::object j = comment_json(s, c);
    j["author"] = c.author;
    if (const auto* u = s.update(c.update_id)) {
        j["update_title"] = s.title(*u, ' ');
        j["update"] = update_json(s, *u, true);
    }
    return j;
}

json::object package_json(const bodhi_package& p)
{
    return json::object{{"name", p.name},
                        {"requirements", nullable(p.requirements)},
                        {"stack", nullptr},
                        {"test_cases", json::array{}}};
}

json::array caveats_json(const std::vector<bodhi_caveat>& caveats)
{
    json::array a;
    for (const auto& c : caveats)
        a.push_back(json::object{{"name", c.name}, {"description", c.description}});
    return a;
}

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ")
{
    std::string out;
    for (const auto& x : v) {
        if (!out.empty())
            out += sep;
        out += x;
    }
    return out;
}

// colander-style validation messages collected for one request.
struct errors
{
    std::vector<bodhi_error_entry> list;
    unsigned status = 400;

    void add(std::string location, std::string name, std::string description, unsigned st = 400)
    {
        list.push_back({std::move(location), std::move(name), std::move(description)});
        status = st;
    }
    bool empty() const noexcept { return list.empty(); }
};

enum class response_format : std::uint8_t { json, jsonp, html };

struct paging
{
    long long page = 1;
    long long rows = 20;
};

} // namespace

// ---------------------------------------------------------------------------------------------
struct bodhi2_application::impl
{
    std::shared_ptr<bodhi_data> data;
    bodhi2_params params;

    struct session
    {
        std::string csrf_token;
        std::string came_from;
        std::uint64_t last_used = 0;
    };
    mutable std::mutex mutex; // guards everything below
    std::unordered_map<std::string, session> sessions;
    std::unordered_map<std::string, std::string> tickets; // auth_tkt -> user name
    std::unordered_map<std::string, std::string> login_nonces; // janrain_nonce -> came_from
    std::set<std::string> used_response_nonces;
    std::uint64_t tick = 0;

    // One request in flight.
    struct call
    {
        const http_request& req;
        const request_context& ctx;
        param_map params;
        std::vector<std::string> seg;
        bool trailing = false;
        std::string base;
        std::string user;         // from auth_tkt; "" = anonymous
        std::string session_id;   // a live session, or ""
        std::string new_session;  // set when this request created the session
        response_format format = response_format::json;
        bool is_get = false;
        bool is_post = false;
    };

    impl(std::shared_ptr<bodhi_data> d, bodhi2_params p) : data(std::move(d)), params(std::move(p)) {}

    http_response handle(const http_request& req, const request_context& ctx);
    http_response route(call& c);

    // Answers
    http_response finish(call& c, http_response res);
    http_response error(call& c, unsigned status, const std::vector<bodhi_error_entry>& errs);
    http_response error(call& c, const errors& e) { return error(c, e.status, e.list); }
    http_response error(call& c, unsigned status, std::string location, std::string name, std::string description)
    {
        return error(c, status, {{std::move(location), std::move(name), std::move(description)}});
    }
    http_response ok(call& c, const json::value& body);
    http_response not_found(call& c)
    {
        return error(c, 404, "url", "path", "The resource could not be found.");
    }
    http_response method_not_allowed(call& c)
    {
        return error(c, 405, "header", "method", "Method not allowed: " + std::string(c.req.method_string()));
    }
    http_response anonymous_write(call& c);

    // Sessions
    std::string ensure_session(call& c);
    std::string csrf_of(const std::string& session_id) const;
    void check_csrf(call& c, errors& e);
    std::string endpoint(const call& c) const;

    // Parameter helpers
    bool read_paging(call& c, errors& e, paging& p, std::string_view location = "querystring");
    std::optional<bool> read_bool(call& c, std::string_view key);
    std::optional<bodhi_time> read_time(call& c, errors& e, std::string_view key, std::string_view location);
    std::vector<std::uint32_t> read_ids(call& c, errors& e, std::string_view key, std::string_view location);
    std::optional<int> read_int(call& c, errors& e, std::string_view key, std::string_view location, int fallback,
                                std::optional<int> min, std::optional<int> max);
    template <class E, class Parse>
    std::optional<E> read_enum(call& c, errors& e, std::string_view key, std::string_view location, Parse parse,
                               std::string_view choices);

    // Routes
    http_response home(call& c);
    http_response csrf(call& c);
    http_response login(call& c);
    http_response dologin(call& c);
    http_response verify_assertion(call& c);
    http_response logout(call& c);
    http_response list_updates(call& c);
    http_response get_update(call& c, const std::string& id);
    http_response save_update(call& c);
    http_response request_update(call& c, const std::string& id);
    http_response list_comments(call& c);
    http_response get_comment(call& c, const std::string& id);
    http_response save_comment(call& c);
    http_response list_overrides(call& c);
    http_response get_override(call& c, const std::string& nvr);
    http_response save_override(call& c);
    http_response list_releases(call& c);
    http_response get_release(call& c, const std::string& name);
    http_response save_release(call& c);
    http_response list_builds(call& c);
    http_response get_build(call& c, const std::string& nvr);
    http_response list_packages(call& c);
    http_response list_users(call& c);
    http_response get_user(call& c, const std::string& name);
    http_response latest_builds(call& c);
    http_response latest_candidates(call& c);
};

// ---------------------------------------------------------------------------------------------
http_response bodhi2_application::impl::handle(const http_request& req, const request_context& ctx)
{
    call c{req, ctx, {}, {}, false, {}, {}, {}, {}, response_format::json, false, false};
    c.base = base_url(req, ctx);
    c.is_get = req.method() == http::verb::get || req.method() == http::verb::head;
    c.is_post = req.method() == http::verb::post;

    std::string accept = to_lower(header_value(req, "Accept"));
    if (accept.find("application/json") != std::string::npos || accept.find("text/json") != std::string::npos)
        c.format = response_format::json;
    else if (accept.find("application/javascript") != std::string::npos)
        c.format = response_format::jsonp;
    else if (accept.find("text/html") != std::string::npos)
        c.format = response_format::html;

    auto path = split_path(ctx.path_in_app);
    if (!path)
        return finish(c, error(c, 400, "url", "path", "Malformed percent-encoding in the path"));
    c.seg = std::move(path->segments);
    c.trailing = path->trailing_slash;

    std::string where, message;
    if (!parse_params(req, ctx.query, c.params, where, message))
        return finish(c, error(c, 400, where, "body", message));

    auto cookies = parse_cookies(req);
    {
        std::lock_guard lock(mutex);
        ++tick;
        if (auto it = cookies.find("session"); it != cookies.end()) {
            if (auto s = sessions.find(it->second); s != sessions.end()) {
                c.session_id = it->second;
                s->second.last_used = tick;
            }
        }
        if (auto it = cookies.find("auth_tkt"); it != cookies.end()) {
            if (auto t = tickets.find(it->second); t != tickets.end())
                c.user = t->second;
        }
    }
    return finish(c, route(c));
}

http_response bodhi2_application::impl::route(call& c)
{
    const auto& s = c.seg;
    const std::size_t n = s.size();
    if (n == 0)
        return c.is_get ? home(c) : method_not_allowed(c);
    const std::string& head = s[0];

    if (n == 1 && !c.trailing) {
        if (head == "api_version")
            return c.is_get ? ok(c, json::object{{"version", params.version}}) : method_not_allowed(c);
        if (head == "csrf")
            return c.is_get ? csrf(c) : method_not_allowed(c);
        if (head == "login")
            return c.is_get ? login(c) : method_not_allowed(c);
        if (head == "dologin.html")
            return c.is_get || c.is_post ? dologin(c) : method_not_allowed(c);
        if (head == "logout")
            return c.is_get || c.is_post ? logout(c) : method_not_allowed(c);
        if (head == "latest_builds")
            return c.is_get || c.is_post ? latest_builds(c) : method_not_allowed(c);
        if (head == "latest_candidates")
            return c.is_get ? latest_candidates(c) : method_not_allowed(c);
        static const std::set<std::string, std::less<>> collections{"updates", "comments", "overrides", "releases",
                                                                    "builds", "packages", "users"};
        if (collections.count(head)) {
            // Pyramid's append_slash: 302, which clients following redirects turn into a GET.
            std::string location = c.base + "/" + head + "/";
            if (!c.ctx.query.empty())
                location += "?" + c.ctx.query;
            return redirect(c.req, location);
        }
        return not_found(c);
    }

    if (n == 1) { // collection roots: "updates/"
        if (head == "updates")
            return c.is_get ? list_updates(c) : c.is_post ? save_update(c) : method_not_allowed(c);
        if (head == "comments")
            return c.is_get ? list_comments(c) : c.is_post ? save_comment(c) : method_not_allowed(c);
        if (head == "overrides")
            return c.is_get ? list_overrides(c) : c.is_post ? save_override(c) : method_not_allowed(c);
        if (head == "releases")
            return c.is_get ? list_releases(c) : c.is_post ? save_release(c) : method_not_allowed(c);
        if (head == "builds")
            return c.is_get ? list_builds(c) : method_not_allowed(c);
        if (head == "packages")
            return c.is_get ? list_packages(c) : method_not_allowed(c);
        if (head == "users")
            return c.is_get ? list_users(c) : method_not_allowed(c);
        return not_found(c);
    }

    if (n == 2) {
        const std::string& id = s[1];
        if (head == "updates")
            return c.is_get ? get_update(c, id) : method_not_allowed(c);
        if (head == "comments")
            return c.is_get ? get_comment(c, id) : method_not_allowed(c);
        if (head == "overrides")
            return c.is_get ? get_override(c, id) : method_not_allowed(c);
        if (head == "releases")
            return c.is_get ? get_release(c, id) : method_not_allowed(c);
        if (head == "builds")
            return c.is_get ? get_build(c, id) : method_not_allowed(c);
        if (head == "users")
            return c.is_get ? get_user(c, id) : method_not_allowed(c);
        return not_found(c);
    }

    if (n == 3 && head == "updates" && s[2] == "request")
        return c.is_post ? request_update(c, s[1]) : method_not_allowed(c);
    return not_found(c);
}

// ---------------------------------------------------------------------------------------------
// Answers
http_response bodhi2_application::impl::finish(call& c, http_response res)
{
    if (!c.new_session.empty())
        add_cookie(res, "session", c.new_session, "/", true);
    finish_head(c.req, res);
    return res;
}

http_response bodhi2_application::impl::error(call& c, unsigned status, const std::vector<bodhi_error_entry>& errs)
{
    json::array list;
    for (const auto& e : errs)
        list.push_back(json::object{{"location", e.location}, {"name", e.name}, {"description", e.description}});
    json::object body{{"status", "error"}, {"errors", std::move(list)}};
    return json_response(c.req, static_cast<http::status>(status), body);
}

http_response bodhi2_application::impl::ok(call& c, const json::value& body)
{
    if (c.format == response_format::jsonp) {
        std::string cb = c.params.get_or("callback", "callback");
        bool valid = !cb.empty() && cb.size() < 100
            && std::all_of(cb.begin(), cb.end(), [](char ch) {
                   return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '$';
               });
        if (!valid)
            cb = "callback";
        return make_response(c.req, http::status::ok, cb + "(" + json::serialize(body) + ");",
                             "application/javascript");
    }
    if (c.format == response_format::html)
        return html_response(c.req, http::status::ok, "Fedora Updates System",
                             "<pre>" + html_escape(json::serialize(body)) + "</pre>");
    return json_response(c.req, http::status::ok, body);
}

http_response bodhi2_application::impl::anonymous_write(call& c)
{
    if (params.anonymous_writes == anonymous_write_answer::login_redirect) {
        std::string came_from = c.base + std::string(c.ctx.path_in_app);
        return redirect(c.req, c.base + "/login?came_from=" + encode_component(came_from));
    }
    return error(c, 403, "cookies", "auth_tkt", "Access denied: you must be logged in to do this");
}

// ---------------------------------------------------------------------------------------------
// Sessions and CSRF
std::string bodhi2_application::impl::ensure_session(call& c)
{
    if (!c.session_id.empty())
        return c.session_id;
    std::string id = data->next_token();
    std::string token = sha1_hex(data->next_token());
    std::lock_guard lock(mutex);
    if (sessions.size() >= params.max_sessions && params.max_sessions > 0) {
        // Forget the least recently used half, as idle sessions time out.
        std::vector<std::uint64_t> ages;
        ages.reserve(sessions.size());
        for (const auto& [k, v] : sessions)
            ages.push_back(v.last_used);
        std::nth_element(ages.begin(), ages.begin() + static_cast<std::ptrdiff_t>(ages.size() / 2), ages.end());
        auto cut = ages[ages.size() / 2];
        std::erase_if(sessions, [&](const auto& kv) { return kv.second.last_used <= cut; });
    }
    sessions[id] = session{token, {}, tick};
    c.session_id = id;
    c.new_session = id;
    return id;
}

std::string bodhi2_application::impl::csrf_of(const std::string& session_id) const
{
    std::lock_guard lock(mutex);
    auto it = sessions.find(session_id);
    return it == sessions.end() ? std::string() : it->second.csrf_token;
}

void bodhi2_application::impl::check_csrf(call& c, errors& e)
{
    auto token = c.params.get("csrf_token");
    if (!token || token->empty()) {
        e.add("body", "csrf_token", "Required");
        return;
    }
    std::string expected = c.session_id.empty() ? std::string() : csrf_of(c.session_id);
    if (expected.empty() || !constant_time_equal(expected, *token))
        e.add("body", "csrf_token", "CSRF tokens do not match");
}

std::string bodhi2_application::impl::endpoint(const call& c) const
{
    std::string ep;
    {
        std::lock_guard lock(mutex);
        ep = params.openid_endpoint;
    }
    if (!ep.empty() && ep.front() == '/') {
        std::string origin = c.ctx.origin;
        while (!origin.empty() && origin.back() == '/')
            origin.pop_back();
        ep = origin + ep;
    }
    return ep;
}

// ---------------------------------------------------------------------------------------------
// Parameter helpers
bool bodhi2_application::impl::read_paging(call& c, errors& e, paging& p, std::string_view location)
{
    std::size_t before = e.list.size();
    if (auto v = c.params.get("page")) {
        auto n = parse_int(*v);
        if (!n)
            e.add(std::string(location), "page", "\"" + *v + "\" is not a number");
        else if (*n < 1)
            e.add(std::string(location), "page", std::to_string(*n) + " is less than minimum value 1");
        else
            p.page = *n;
    }
    if (auto v = c.params.get("rows_per_page")) {
        auto n = parse_int(*v);
        if (!n)
            e.add(std::string(location), "rows_per_page", "\"" + *v + "\" is not a number");
        else if (*n < 1)
            e.add(std::string(location), "rows_per_page", std::to_string(*n) + " is less than minimum value 1");
        else if (*n > 100)
            e.add(std::string(location), "rows_per_page", std::to_string(*n) + " is greater than maximum value 100");
        else
            p.rows = *n;
    }
    return e.list.size() == before;
}

std::optional<bool> bodhi2_application::impl::read_bool(call& c, std::string_view key)
{
    auto v = c.params.get(key);
    if (!v)
        return std::nullopt;
    return colander_bool(*v);
}

std::optional<bodhi_time> bodhi2_application::impl::read_time(call& c, errors& e, std::string_view key,
                                                             std::string_view location)
{
    auto v = c.params.get(key);
    if (!v)
        return std::nullopt;
    auto t = parse_bodhi_time(*v);
    if (!t)
        e.add(std::string(location), std::string(key), "Invalid date");
    return t;
}

std::vector<std::uint32_t> bodhi2_application::impl::read_ids(call& c, errors& e, std::string_view key,
                                                              std::string_view location)
{
    std::vector<std::uint32_t> out;
    for (const auto& v : c.params.list(key)) {
        auto n = parse_int(v);
        if (!n || *n < 0 || *n > 0xffffffffLL)
            e.add(std::string(location), std::string(key), "\"" + v + "\" is not a number");
        else
            out.push_back(static_cast<std::uint32_t>(*n));
    }
    return out;
}

std::optional<int> bodhi2_application::impl::read_int(call& c, errors& e, std::string_view key,
                                                      std::string_view location, int fallback, std::optional<int> min,
                                                      std::optional<int> max)
{
    auto v = c.params.get(key);
    if (!v || v->empty())
        return fallback;
    auto n = parse_int(*v);
    if (!n || *n < -1000000 || *n > 1000000) {
        e.add(std::string(location), std::string(key), "\"" + *v + "\" is not a number");
        return std::nullopt;
    }
    if (min && *n < *min) {
        e.add(std::string(location), std::string(key),
              std::to_string(*n) + " is less than minimum value " + std::to_string(*min));
        return std::nullopt;
    }
    if (max && *n > *max) {
        e.add(std::string(location), std::string(key),
              std::to_string(*n) + " is greater than maximum value " + std::to_string(*max));
        return std::nullopt;
    }
    return static_cast<int>(*n);
}

template <class E, class Parse>
std::optional<E> bodhi2_application::impl::read_enum(call& c, errors& e, std::string_view key,
                                                     std::string_view location, Parse parse, std::string_view choices)
{
    auto v = c.params.get(key);
    if (!v)
        return std::nullopt;
    auto parsed = parse(*v);
    if (!parsed)
        e.add(std::string(location), std::string(key), "\"" + *v + "\" is not one of " + std::string(choices));
    return parsed;
}

// ---------------------------------------------------------------------------------------------
// Routes: sessions and login
http_response bodhi2_application::impl::home(call& c)
{
    std::string who = c.user.empty() ? "You are not logged in." : "Logged in as " + html_escape(c.user) + ".";
    return html_response(c.req, http::status::ok, "Fedora Updates System", "<p>" + who + "</p>");
}

http_response bodhi2_application::impl::csrf(call& c)
{
    std::string token = csrf_of(ensure_session(c));
    if (c.format == response_format::html)
        return make_response(c.req, http::status::ok, token, "text/html; charset=UTF-8");
    return ok(c, json::object{{"csrf_token", token}});
}

http_response bodhi2_application::impl::login(call& c)
{
    std::string came_from = c.params.get_or("came_from", c.base + "/");
    std::string id = ensure_session(c);
    {
        std::lock_guard lock(mutex);
        sessions[id].came_from = came_from;
    }
    return redirect(c.req, c.base + "/dologin.html?openid=" + encode_component(endpoint(c)));
}

http_response bodhi2_application::impl::dologin(call& c)
{
    if (c.params.has("openid.mode"))
        return verify_assertion(c);
    auto provider = c.params.get("openid");
    if (!provider)
        return html_response(c.req, http::status::bad_request, "Login failed", "<p>No OpenID provider given.</p>");
    std::string ep = endpoint(c);
    if (*provider != ep)
        return html_response(c.req, http::status::bad_request, "Login failed",
                             "<p>Unknown OpenID provider: " + html_escape(*provider) + "</p>");
    std::string nonce = data->next_token();
    {
        std::lock_guard lock(mutex);
        std::string came_from = c.base + "/";
        if (!c.session_id.empty())
            if (auto it = sessions.find(c.session_id); it != sessions.end() && !it->second.came_from.empty())
                came_from = it->second.came_from;
        if (login_nonces.size() > 100000)
            login_nonces.clear();
        login_nonces[nonce] = came_from;
    }
    std::vector<std::pair<std::string, std::string>> q{
        {"openid.ns", "http://specs.openid.net/auth/2.0"},
        {"openid.mode", "checkid_setup"},
        {"openid.return_to", c.base + "/dologin.html?janrain_nonce=" + encode_component(nonce)},
        {"openid.realm", c.base + "/"},
        {"openid.identity", "http://specs.openid.net/auth/2.0/identifier_select"},
        {"openid.claimed_id", "http://specs.openid.net/auth/2.0/identifier_select"},
        {"openid.assoc_handle", "emulator"},
        {"openid.ns.sreg", "http://openid.net/extensions/sreg/1.1"},
        {"openid.sreg.required", "nickname,email,fullname"},
        {"openid.ns.lp", "http://ns.launchpad.net/2007/openid-teams"},
        {"openid.lp.query_membership", "packager,proventesters,releng,bodhiadmin"},
    };
    std::string location = ep + (ep.find('?') == std::string::npos ? "?" : "&") + form_encode(q);
    return redirect(c.req, location);
}

http_response bodhi2_application::impl::verify_assertion(call& c)
{
    auto fail = [&](http::status st, std::string_view why) {
        return html_response(c.req, st, "Login failed", "<p>" + html_escape(why) + "</p>");
    };
    std::string mode = c.params.get_or("openid.mode", "");
    if (mode == "cancel")
        return fail(http::status::unauthorized, "The OpenID login was cancelled.");
    if (mode != "id_res")
        return fail(http::status::bad_request, "Unexpected openid.mode: " + mode);

    std::string nonce = c.params.get_or("janrain_nonce", "");
    std::string came_from;
    {
        std::lock_guard lock(mutex);
        auto it = login_nonces.find(nonce);
        if (nonce.empty() || it == login_nonces.end())
            return fail(http::status::bad_request, "Unknown or already used login transaction.");
        came_from = it->second;
        login_nonces.erase(it);
    }
    if (c.params.get_or("openid.return_to", "") != c.base + "/dologin.html?janrain_nonce=" + encode_component(nonce))
        return fail(http::status::bad_request, "openid.return_to does not match this login.");
    if (c.params.get_or("openid.op_endpoint", "") != endpoint(c))
        return fail(http::status::forbidden, "Unexpected OpenID provider.");

    std::vector<std::string> signed_fields;
    {
        std::string list = c.params.get_or("openid.signed", "");
        std::string cur;
        for (char ch : list + ",") {
            if (ch == ',') {
                if (!cur.empty())
                    signed_fields.push_back(cur);
                cur.clear();
            } else {
                cur.push_back(ch);
            }
        }
    }
    for (const char* required : {"op_endpoint", "return_to", "response_nonce", "assoc_handle", "claimed_id",
                                 "identity", "sreg.nickname"})
        if (std::find(signed_fields.begin(), signed_fields.end(), required) == signed_fields.end())
            return fail(http::status::forbidden, std::string("openid.") + required + " is not signed.");
    std::string kv;
    for (const auto& f : signed_fields)
        kv += f + ":" + c.params.get_or("openid." + f, "") + "\n";
    std::string expected = hmac_sha256_base64(data->openid_secret(), kv);
    if (!constant_time_equal(expected, c.params.get_or("openid.sig", "")))
        return fail(http::status::forbidden, "Invalid OpenID signature.");
    std::string response_nonce = c.params.get_or("openid.response_nonce", "");
    {
        std::lock_guard lock(mutex);
        if (!used_response_nonces.insert(response_nonce).second)
            return fail(http::status::forbidden, "This OpenID response was already used.");
    }
    std::string name = c.params.get_or("openid.sreg.nickname", "");
    if (!data->user(name))
        return fail(http::status::forbidden, "Unknown user.");

    std::string ticket = data->next_token();
    ensure_session(c);
    {
        std::lock_guard lock(mutex);
        if (tickets.size() > 100000)
            tickets.clear();
        tickets[ticket] = name;
    }
    c.user = name;
    auto res = redirect(c.req, came_from);
    add_cookie(res, "auth_tkt", ticket, "/", true);
    return res;
}

http_response bodhi2_application::impl::logout(call& c)
{
    auto cookies = parse_cookies(c.req);
    if (auto it = cookies.find("auth_tkt"); it != cookies.end()) {
        std::lock_guard lock(mutex);
        tickets.erase(it->second);
    }
    auto res = redirect(c.req, c.base + "/");
    expire_cookie(res, "auth_tkt", "/");
    return res;
}

// ---------------------------------------------------------------------------------------------
// Routes: updates
http_response bodhi2_application::impl::list_updates(call& c)
{
    const std::string_view loc = "querystring";
    errors e;
    paging pg;
    read_paging(c, e, pg, loc);
    update_filter f;
    for (const char* key : {"alias", "updateid"})
        for (auto& v : c.params.list(key))
            f.aliases.push_back(std::move(v));
    f.approved_since = read_time(c, e, "approved_since", loc);
    f.approved_before = read_time(c, e, "approved_before", loc);
    f.modified_since = read_time(c, e, "modified_since", loc);
    f.modified_before = read_time(c, e, "modified_before", loc);
    f.pushed_since = read_time(c, e, "pushed_since", loc);
    f.pushed_before = read_time(c, e, "pushed_before", loc);
    f.submitted_since = read_time(c, e, "submitted_since", loc);
    f.submitted_before = read_time(c, e, "submitted_before", loc);
    f.bugs = read_ids(c, e, "bugs", loc);
    f.builds = c.params.list("builds");
    f.critpath = read_bool(c, "critpath");
    f.locked = read_bool(c, "locked");
    f.pushed = read_bool(c, "pushed");
    f.cves = c.params.list("cves");
    f.like = c.params.get_or("like", "");
    f.packages = c.params.list("packages");
    if (auto r = read_enum<update_request>(c, e, "request", loc, parse_update_request, request_choices))
        f.requests.push_back(*r);
    f.severity = read_enum<update_severity>(c, e, "severity", loc, parse_update_severity,
                                            "unspecified, urgent, high, medium, low");
    if (auto st = read_enum<update_status>(c, e, "status", loc, parse_update_status,
                                           "pending, testing, stable, unpushed, obsolete, processing"))
        f.statuses.push_back(*st);
    f.suggest = read_enum<update_suggest>(c, e, "suggest", loc, parse_update_suggest, "unspecified, reboot, logout");
    f.type = read_enum<update_type>(c, e, "type", loc, parse_update_type, "bugfix, security, newpackage, enhancement");

    return data->read([&](const bodhi_state& s) {
        std::vector<std::string> bad_releases;
        // `releases` is a colander list (split on commas and spaces); the singular Bodhi 1
        // compatibility `release` is one name, so "Fedora 22" works there.
        auto names = c.params.list("releases");
        for (auto& r : c.params.all("release"))
            names.push_back(std::move(r));
        {
            for (const auto& r : names) {
                if (const auto* rel = s.find_release(r))
                    f.releases.push_back(rel->id);
                else
                    bad_releases.push_back(r);
            }
        }
        if (!bad_releases.empty())
            e.add(std::string(loc), "releases", "Invalid releases specified: " + join(bad_releases));
        if (auto user = c.params.get("user")) {
            if (!s.find_user(*user))
                e.add(std::string(loc), "user", "Invalid user specified: " + *user);
            f.user = *user;
        }
        if (!e.empty())
            return error(c, e);
        auto ids = s.query_updates(f);
        auto total = static_cast<long long>(ids.size());
        json::array list;
        long long first = (pg.page - 1) * pg.rows;
        for (long long i = first; i < total && i < first + pg.rows; ++i)
            list.push_back(update_json(s, *s.update(ids[static_cast<std::size_t>(i)])));
        json::object body{{"updates", std::move(list)},
                          {"page", pg.page},
                          {"pages", (total + pg.rows - 1) / pg.rows},
                          {"rows_per_page", pg.rows},
                          {"total", total},
                          {"chrome", true},
                          {"display_user", true},
                          {"display_request", true}};
        return ok(c, body);
    });
}

http_response bodhi2_application::impl::get_update(call& c, const std::string& id)
{
    return data->read([&](const bodhi_state& s) {
        const auto* u = s.find_update(id);
        if (!u) {
            if (s.find_package(id))
                return redirect(c.req, c.base + "/updates/?packages=" + encode_component(id));
            return error(c, 404, "url", "id", "Invalid update id");
        }
        return ok(c, json::object{{"update", update_json(s, *u)}, {"can_edit", s.can_edit(*u, c.user)}});
    });
}

http_response bodhi2_application::impl::save_update(call& c)
{
    if (c.user.empty())
        return anonymous_write(c);
    const std::string_view loc = "body";
    errors e;
    check_csrf(c, e);
    update_save_params p;
    p.builds = c.params.list("builds");
    if (p.builds.empty())
        e.add("body", "builds", "Required");
    auto type = c.params.get("type");
    if (!type || type->empty())
        type = c.params.get("type_");
    if (!type || type->empty())
        e.add("body", "type", "Required");
    else if (auto t = parse_update_type(*type))
        p.type = *t;
    else
        e.add("body", "type", "\"" + *type + "\" is not one of bugfix, security, newpackage, enhancement");
    p.bugs = read_ids(c, e, "bugs", loc);
    auto notes = c.params.get("notes");
    if (!notes)
        e.add("body", "notes", "Required");
    else if (notes->size() < 2)
        e.add("body", "notes", "Shorter than minimum length 2");
    else
        p.notes = *notes;
    std::string request = c.params.get_or("request", "testing");
    if (request == "testing")
        p.request = update_request::testing;
    else if (request == "stable")
        p.request = update_request::stable;
    else if (request.empty() || iequals(request, "none"))
        p.request = update_request::none;
    else
        e.add("body", "request", "\"" + request + "\" is not one of testing, stable");
    if (auto v = read_enum<update_severity>(c, e, "severity", loc, parse_update_severity,
                                            "unspecified, urgent, high, medium, low"))
        p.severity = *v;
    if (auto v = read_enum<update_suggest>(c, e, "suggest", loc, parse_update_suggest, "unspecified, reboot, logout"))
        p.suggest = *v;
    p.autokarma = read_bool(c, "autokarma").value_or(true);
    p.close_bugs = read_bool(c, "close_bugs").value_or(true);
    p.require_bugs = read_bool(c, "require_bugs").value_or(true);
    p.require_testcases = read_bool(c, "require_testcases").value_or(true);
    p.stable_karma = read_int(c, e, "stable_karma", loc, 3, 1, std::nullopt).value_or(3);
    p.unstable_karma = read_int(c, e, "unstable_karma", loc, -3, std::nullopt, -1).value_or(-3);
    p.requirements = c.params.get_or("requirements", "");
    p.edited = c.params.get_or("edited", "");
    if (!e.empty())
        return error(c, e);

    return data->write([&](bodhi_state& s) {
        auto out = s.save_update(p, c.user);
        if (!out.ok())
            return error(c, out.status, out.errors);
        if (out.ids.size() == 1) {
            json::object body = update_json(s, *s.update(out.ids.front()));
            body["caveats"] = caveats_json(out.caveats);
            return ok(c, body);
        }
        json::array list;
        for (auto id : out.ids)
            list.push_back(update_json(s, *s.update(id)));
        return ok(c, json::object{{"updates", std::move(list)}, {"caveats", caveats_json(out.caveats)}});
    });
}

http_response bodhi2_application::impl::request_update(call& c, const std::string& id)
{
    if (c.user.empty())
        return anonymous_write(c);
    std::uint32_t update_id = 0;
    bool package_redirect = false;
    data->read([&](const bodhi_state& s) {
        if (const auto* u = s.find_update(id))
            update_id = u->id;
        else
            package_redirect = s.params().quirks.request_on_package_name_redirects && s.find_package(id);
    });
    if (!update_id) {
        if (package_redirect)
            return redirect(c.req, c.base + "/updates/?packages=" + encode_component(id));
        return error(c, 404, "url", "id", "Invalid update id");
    }
    errors e;
    check_csrf(c, e);
    auto r = c.params.get("request");
    std::optional<update_request> req;
    if (!r || r->empty())
        e.add("body", "request", "Required");
    else if (!(req = parse_update_request(*r)))
        e.add("body", "request", "\"" + *r + "\" is not one of " + std::string(request_choices));
    if (!e.empty())
        return error(c, e);
    return data->write([&](bodhi_state& s) {
        auto out = s.set_request(update_id, *req, c.user);
        if (!out.ok())
            return error(c, out.status, out.errors);
        json::object body{{"update", update_json(s, *s.update(update_id))}};
        if (!out.caveats.empty())
            body["caveats"] = caveats_json(out.caveats);
        return ok(c, body);
    });
}

// ---------------------------------------------------------------------------------------------
// Routes: comments
namespace {

std::optional<long long> json_int(const json::value* v)
{
    if (!v)
        return std::nullopt;
    if (v->is_int64())
        return v->get_int64();
    if (v->is_uint64() && v->get_uint64() < (1ULL << 62))
        return static_cast<long long>(v->get_uint64());
    if (v->is_string())
        return parse_int(v->get_string());
    return std::nullopt;
}

std::string json_str(const json::value* v)
{
    if (!v)
        return {};
    if (v->is_string())
        return std::string(v->get_string());
    if (v->is_int64() || v->is_uint64())
        return json::serialize(*v);
    return {};
}

bool plausible_email(std::string_view s)
{
    auto at = s.find('@');
    if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos)
        return false;
    auto domain = s.substr(at + 1);
    auto dot = domain.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size())
        return false;
    return std::none_of(s.begin(), s.end(), [](char ch) { return std::isspace(static_cast<unsigned char>(ch)); });
}

// Feedback entries come as a JSON array of objects, or as peppercorn-style form keys
// "bug_feedback.0.bug_id" / "bug_feedback.0.karma".
struct feedback_item
{
    std::string key;
    std::optional<long long> karma;
};

std::vector<feedback_item> read_feedback(const param_map& params, std::string_view field, std::string_view key_name)
{
    std::vector<feedback_item> out;
    if (const auto* body = params.json()) {
        auto it = body->find(field);
        if (it != body->end() && it->value().is_array()) {
            for (const auto& item : it->value().get_array()) {
                if (!item.is_object()) {
                    out.push_back({{}, std::nullopt});
                    continue;
                }
                const auto& o = item.get_object();
                out.push_back({json_str(o.if_contains(key_name)), json_int(o.if_contains("karma"))});
            }
        }
        return out;
    }
    std::map<long long, feedback_item> by_index;
    std::string prefix = std::string(field) + ".";
    for (const auto& [k, v] : params.items()) {
        if (k.rfind(prefix, 0) != 0)
            continue;
        auto rest = std::string_view(k).substr(prefix.size());
        auto dot = rest.find('.');
        auto index = parse_int(rest.substr(0, dot));
        if (!index || dot == std::string_view::npos)
            continue;
        auto name = rest.substr(dot + 1);
        auto& item = by_index[*index];
        if (name == key_name)
            item.key = v;
        else if (name == "karma")
            item.karma = parse_int(v);
    }
    for (auto& [i, item] : by_index)
        out.push_back(std::move(item));
    return out;
}

} // namespace

http_response bodhi2_application::impl::list_comments(call& c)
{
    const std::string_view loc = "querystring";
    errors e;
    paging pg;
    read_paging(c, e, pg, loc);
    comment_filter f;
    f.anonymous = read_bool(c, "anonymous");
    f.since = read_time(c, e, "since", loc);
    f.like = c.params.get_or("like", "");
    f.packages = c.params.list("packages");
    return data->read([&](const bodhi_state& s) {
        std::vector<std::string> bad;
        for (const auto& key : c.params.list("updates")) {
            if (const auto* u = s.find_update(key))
                f.updates.push_back(u->id);
            else
                bad.push_back(key);
        }
        if (!bad.empty())
            e.add(std::string(loc), "updates", "Invalid updates specified: " + join(bad));
        for (const char* key : {"user", "update_owner"}) {
            if (auto v = c.params.get(key)) {
                if (!s.find_user(*v))
                    e.add(std::string(loc), key, "Invalid user specified: " + *v);
                (std::string_view(key) == "user" ? f.user : f.update_owner) = *v;
            }
        }
        if (!e.empty())
            return error(c, e);
        auto ids = s.query_comments(f);
        auto total = static_cast<long long>(ids.size());
        json::array list;
        long long first = (pg.page - 1) * pg.rows;
        for (long long i = first; i < total && i < first + pg.rows; ++i)
            list.push_back(full_comment_json(s, *s.comment(ids[static_cast<std::size_t>(i)])));
        return ok(c, json::object{{"comments", std::move(list)},
                                  {"page", pg.page},
                                  {"pages", (total + pg.rows - 1) / pg.rows},
                                  {"rows_per_page", pg.rows},
                                  {"total", total},
                                  {"chrome", true}});
    });
}

http_response bodhi2_application::impl::get_comment(call& c, const std::string& id)
{
    auto n = parse_int(id);
    return data->read([&](const bodhi_state& s) {
        const auto* cm = n && *n > 0 && *n <= 0xffffffffLL ? s.comment(static_cast<std::uint32_t>(*n)) : nullptr;
        const auto* u = cm ? s.update(cm->update_id) : nullptr;
        if (!cm || !u || u->deleted)
            return error(c, 404, "url", "id", "Invalid comment id");
        return ok(c, json::object{{"comment", full_comment_json(s, *cm)}});
    });
}

http_response bodhi2_application::impl::save_comment(call& c)
{
    const std::string_view loc = "body";
    errors e;
    check_csrf(c, e);
    comment_params p;
    auto update_key = c.params.get("update");
    if (!update_key || update_key->empty())
        e.add("body", "update", "Required");
    p.text = c.params.get_or("text", "");
    p.karma = read_int(c, e, "karma", loc, 0, -1, 1).value_or(0);
    p.karma_critpath = read_int(c, e, "karma_critpath", loc, 0, -1, 1).value_or(0);
    std::string email = c.params.get_or("email", "");
    if (!email.empty() && !plausible_email(email))
        e.add("body", "email", "Invalid email address");
    for (auto& item : read_feedback(c.params, "bug_feedback", "bug_id")) {
        auto id = parse_int(item.key);
        if (!id || *id < 0 || *id > 0xffffffffLL || !item.karma)
            e.add("body", "bug_feedback", "Invalid bug feedback");
        else
            p.bug_feedback.emplace_back(static_cast<std::uint32_t>(*id), static_cast<int>(std::clamp(*item.karma, -9LL, 9LL)));
    }
    for (auto& item : read_feedback(c.params, "testcase_feedback", "testcase_name")) {
        if (item.key.empty() || !item.karma)
            e.add("body", "testcase_feedback", "Invalid testcase feedback");
        else
            p.testcase_feedback.emplace_back(item.key, static_cast<int>(std::clamp(*item.karma, -9LL, 9LL)));
    }
    if (!e.empty())
        return error(c, e);
    // An e-mail address makes the comment anonymous, even from a logged-in user.
    p.anonymous = !email.empty() || c.user.empty();
    p.author = !email.empty() ? email : c.user;
    return data->write([&](bodhi_state& s) {
        const auto* u = s.find_update(*update_key);
        if (!u)
            return error(c, 404, "body", "update", "Invalid update specified: " + *update_key);
        p.update_id = u->id;
        auto out = s.add_comment(p);
        if (!out.ok())
            return error(c, out.status, out.errors);
        return ok(c, json::object{{"comment", full_comment_json(s, *s.comment(out.ids.front()))},
                                  {"caveats", caveats_json(out.caveats)}});
    });
}

// ---------------------------------------------------------------------------------------------
// Routes: overrides
http_response bodhi2_application::impl::list_overrides(call& c)
{
    const std::string_view loc = "querystring";
    errors e;
    paging pg;
    read_paging(c, e, pg, loc);
    override_filter f;
    f.expired = read_bool(c, "expired");
    f.like = c.params.get_or("like", "");
    f.packages = c.params.list("packages");
    f.builds = c.params.list("builds");
    return data->read([&](const bodhi_state& s) {
        std::vector<std::string> bad;
        for (const auto& r : c.params.list("releases")) {
            if (const auto* rel = s.find_release(r))
                f.releases.push_back(rel->id);
            else
                bad.push_back(r);
        }
        if (!bad.empty())
            e.add(std::string(loc), "releases", "Invalid releases specified: " + join(bad));
        if (auto user = c.params.get("user")) {
            if (!s.find_user(*user))
                e.add(std::string(loc), "user", "Invalid user specified: " + *user);
            f.user = *user;
        }
        if (!e.empty())
            return error(c, e);
        auto ids = s.query_overrides(f);
        auto total = static_cast<long long>(ids.size());
        json::array list;
        long long first = (pg.page - 1) * pg.rows;
        for (long long i = first; i < total && i < first + pg.rows; ++i)
            list.push_back(override_json(s, *s.override_record(ids[static_cast<std::size_t>(i)])));
        return ok(c, json::object{{"overrides", std::move(list)},
                                  {"page", pg.page},
                                  {"pages", (total + pg.rows - 1) / pg.rows},
                                  {"rows_per_page", pg.rows},
                                  {"total", total},
                                  {"chrome", true},
                                  {"display_user", true}});
    });
}

http_response bodhi2_application::impl::get_override(call& c, const std::string& nvr)
{
    return data->read([&](const bodhi_state& s) {
        const auto* b = s.find_build(nvr);
        if (!b)
            return error(c, 404, "url", "nvr", "No such build");
        if (!b->override_id)
            return error(c, 404, "url", "nvr", "No buildroot override for this build");
        return ok(c, json::object{{"override", override_json(s, *s.override_record(b->override_id))}});
    });
}

http_response bodhi2_application::impl::save_override(call& c)
{
    if (c.user.empty())
        return anonymous_write(c);
    errors e;
    check_csrf(c, e);
    override_save_params p;
    p.nvrs = c.params.list("nvr");
    if (p.nvrs.empty())
        e.add("body", "nvr", "Required");
    auto notes = c.params.get("notes");
    if (!notes)
        e.add("body", "notes", "Required");
    else if (notes->size() < 2)
        e.add("body", "notes", "Shorter than minimum length 2");
    else
        p.notes = *notes;
    auto expiration = c.params.get("expiration_date");
    if (!expiration)
        e.add("body", "expiration_date", "Required");
    else if (auto t = parse_bodhi_time(*expiration))
        p.expiration_date = *t;
    else
        e.add("body", "expiration_date", "Invalid date");
    p.edited = c.params.get_or("edited", "");
    p.expired = read_bool(c, "expired").value_or(false);
    if (!e.empty())
        return error(c, e);
    return data->write([&](bodhi_state& s) {
        auto out = s.save_override(p, c.user);
        if (!out.ok())
            return error(c, out.status, out.errors);
        if (out.ids.size() == 1) {
            json::object body = override_json(s, *s.override_record(out.ids.front()));
            body["caveats"] = caveats_json(out.caveats);
            return ok(c, body);
        }
        json::array list;
        for (auto id : out.ids)
            list.push_back(override_json(s, *s.override_record(id)));
        return ok(c, json::object{{"overrides", std::move(list)}, {"caveats", caveats_json(out.caveats)}});
    });
}

// ---------------------------------------------------------------------------------------------
// Routes: releases, builds, packages, users, latest builds
namespace {

// SQL LIKE with '%' and '_' wildcards, case-insensitive.
bool sql_like(std::string_view text, std::string_view pattern)
{
    if (pattern.empty())
        return text.empty();
    if (pattern.front() == '%') {
        for (std::size_t i = 0; i <= text.size(); ++i)
            if (sql_like(text.substr(i), pattern.substr(1)))
                return true;
        return false;
    }
    if (text.empty())
        return false;
    if (pattern.front() != '_'
        && std::tolower(static_cast<unsigned char>(pattern.front())) != std::tolower(static_cast<unsigned char>(text.front())))
        return false;
    return sql_like(text.substr(1), pattern.substr(1));
}

template <class Ids, class Fn>
json::object page_of(std::string_view name, const Ids& ids, const paging& pg, Fn&& item)
{
    auto total = static_cast<long long>(ids.size());
    json::array list;
    long long first = (pg.page - 1) * pg.rows;
    for (long long i = first; i < total && i < first + pg.rows; ++i)
        list.push_back(item(ids[static_cast<std::size_t>(i)]));
    return json::object{{name, std::move(list)},
                        {"page", pg.page},
                        {"pages", (total + pg.rows - 1) / pg.rows},
                        {"rows_per_page", pg.rows},
                        {"total", total}};
}

} // namespace

http_response bodhi2_application::impl::list_releases(call& c)
{
    const std::string_view loc = "querystring";
    errors e;
    paging pg;
    read_paging(c, e, pg, loc);
    return data->read([&](const bodhi_state& s) {
        std::vector<std::uint32_t> by_updates, by_packages;
        std::vector<std::string> bad_updates, bad_packages;
        for (const auto& key : c.params.list("updates")) {
            if (const auto* u = s.find_update(key))
                by_updates.push_back(u->release_id);
            else
                bad_updates.push_back(key);
        }
        for (const auto& name : c.params.list("packages")) {
            const auto* pkg = s.find_package(name);
            if (!pkg) {
                bad_packages.push_back(name);
                continue;
            }
            for (const auto& b : s.builds())
                if (b.package_id == pkg->id)
                    by_packages.push_back(b.release_id);
        }
        if (!bad_updates.empty())
            e.add(std::string(loc), "updates", "Invalid updates specified: " + join(bad_updates));
        if (!bad_packages.empty())
            e.add(std::string(loc), "packages", "Invalid packages specified: " + join(bad_packages));
        if (!e.empty())
            return error(c, e);
        auto name = c.params.get("name");
        std::vector<const bodhi_release*> hits;
        for (const auto& r : s.releases()) {
            if (name && !sql_like(r.name, *name))
                continue;
            if (c.params.has("updates") && std::find(by_updates.begin(), by_updates.end(), r.id) == by_updates.end())
                continue;
            if (c.params.has("packages") && std::find(by_packages.begin(), by_packages.end(), r.id) == by_packages.end())
                continue;
            hits.push_back(&r);
        }
        std::sort(hits.begin(), hits.end(), [](auto* a, auto* b) { return a->name < b->name; });
        return ok(c, page_of("releases", hits, pg, [](const bodhi_release* r) { return release_json(*r); }));
    });
}

http_response bodhi2_application::impl::get_release(call& c, const std::string& name)
{
    return data->read([&](const bodhi_state& s) {
        const auto* r = s.find_release(name);
        if (!r)
            return error(c, 404, "url", "name", "No such release");
        return ok(c, release_json(*r));
    });
}

http_response bodhi2_application::impl::save_release(call& c)
{
    if (c.user.empty())
        return anonymous_write(c);
    errors e;
    check_csrf(c, e);
    bodhi_release r;
    r.name = c.params.get_or("name", "");
    r.long_name = c.params.get_or("long_name", "");
    r.version = c.params.get_or("version", "");
    r.id_prefix = c.params.get_or("id_prefix", "");
    r.branch = c.params.get_or("branch", "");
    r.dist_tag = c.params.get_or("dist_tag", "");
    r.stable_tag = c.params.get_or("stable_tag", "");
    r.testing_tag = c.params.get_or("testing_tag", "");
    r.candidate_tag = c.params.get_or("candidate_tag", "");
    r.pending_testing_tag = c.params.get_or("pending_testing_tag", "");
    r.pending_stable_tag = c.params.get_or("pending_stable_tag", "");
    r.override_tag = c.params.get_or("override_tag", "");
    std::string edited = c.params.get_or("edited", "");
    if (auto st = read_enum<release_state>(c, e, "state", "body", parse_release_state,
                                           "disabled, pending, current, archived"))
        r.state = *st;
    if (edited.empty()) {
        for (const char* key : {"name", "long_name", "version", "dist_tag"})
            if (c.params.get_or(key, "").empty())
                e.add("body", key, "Required");
    }
    if (!e.empty())
        return error(c, e);
    return data->write([&](bodhi_state& s) {
        auto out = s.save_release(r, edited, c.user);
        if (!out.ok())
            return error(c, out.status, out.errors);
        return ok(c, release_json(*s.release(out.ids.front())));
    });
}

http_response bodhi2_application::impl::list_builds(call& c)
{
    const std::string_view loc = "querystring";
    errors e;
    paging pg;
    read_paging(c, e, pg, loc);
    return data->read([&](const bodhi_state& s) {
        std::vector<std::uint32_t> releases, updates;
        std::vector<std::string> bad_releases, bad_updates;
        for (const auto& r : c.params.list("releases")) {
            if (const auto* rel = s.find_release(r))
                releases.push_back(rel->id);
            else
                bad_releases.push_back(r);
        }
        for (const auto& key : c.params.list("updates")) {
            if (const auto* u = s.find_update(key))
                updates.push_back(u->id);
            else
                bad_updates.push_back(key);
        }
        if (!bad_releases.empty())
            e.add(std::string(loc), "releases", "Invalid releases specified: " + join(bad_releases));
        if (!bad_updates.empty())
            e.add(std::string(loc), "updates", "Invalid updates specified: " + join(bad_updates));
        if (!e.empty())
            return error(c, e);
        auto nvr = c.params.get("nvr");
        auto packages = c.params.list("packages");
        std::vector<std::uint32_t> ids;
        for (const auto& b : s.builds()) {
            if (nvr && b.nvr != *nvr)
                continue;
            if (!releases.empty() && std::find(releases.begin(), releases.end(), b.release_id) == releases.end())
                continue;
            if (!updates.empty() && std::find(updates.begin(), updates.end(), b.update_id) == updates.end())
                continue;
            if (!packages.empty()) {
                const auto* p = s.package(b.package_id);
                if (!p || std::find(packages.begin(), packages.end(), p->name) == packages.end())
                    continue;
            }
            ids.push_back(b.id);
        }
        std::reverse(ids.begin(), ids.end()); // newest first
        return ok(c, page_of("builds", ids, pg, [&](std::uint32_t id) { return build_json(s, *s.build(id)); }));
    });
}

http_response bodhi2_application::impl::get_build(call& c, const std::string& nvr)
{
    return data->read([&](const bodhi_state& s) {
        const auto* b = s.find_build(nvr);
        if (!b)
            return error(c, 404, "url", "nvr", "No such build");
        return ok(c, build_json(s, *b));
    });
}

http_response bodhi2_application::impl::list_packages(call& c)
{
    errors e;
    paging pg;
    read_paging(c, e, pg, "querystring");
    if (!e.empty())
        return error(c, e);
    auto name = c.params.get("name");
    auto like = c.params.get("like");
    return data->read([&](const bodhi_state& s) {
        std::vector<const bodhi_package*> hits;
        for (const auto& p : s.packages()) {
            if (name && p.name != *name)
                continue;
            if (like && p.name.find(*like) == std::string::npos)
                continue;
            hits.push_back(&p);
        }
        std::sort(hits.begin(), hits.end(), [](auto* a, auto* b) { return a->name < b->name; });
        return ok(c, page_of("packages", hits, pg, [](const bodhi_package* p) { return package_json(*p); }));
    });
}

http_response bodhi2_application::impl::list_users(call& c)
{
    errors e;
    paging pg;
    read_paging(c, e, pg, "querystring");
    if (!e.empty())
        return error(c, e);
    auto like = c.params.get("like");
    auto name = c.params.get("name");
    return data->read([&](const bodhi_state& s) {
        std::vector<const bodhi_user*> hits;
        for (const auto& u : s.users()) {
            if (like && u.name.find(*like) == std::string::npos)
                continue;
            if (name && u.name != *name)
                continue;
            hits.push_back(&u);
        }
        std::sort(hits.begin(), hits.end(), [](auto* a, auto* b) { return a->name < b->name; });
        return ok(c, page_of("users", hits, pg, [&](const bodhi_user* u) { return user_json(s, u->name); }));
    });
}

http_response bodhi2_application::impl::get_user(call& c, const std::string& name)
{
    return data->read([&](const bodhi_state& s) {
        if (!s.find_user(name))
            return error(c, 404, "url", "name", "No such user");
        json::object urls{{"recent updates", c.base + "/updates/?user=" + encode_component(name)},
                          {"recent comments", c.base + "/comments/?user=" + encode_component(name)},
                          {"recent overrides", c.base + "/overrides/?user=" + encode_component(name)}};
        return ok(c, json::object{{"user", user_json(s, name)}, {"urls", std::move(urls)}});
    });
}

http_response bodhi2_application::impl::latest_builds(call& c)
{
    auto package = c.params.get_or("package", "");
    return data->read([&](const bodhi_state& s) {
        json::object body;
        for (auto& [tag, nvr] : s.latest_builds(package))
            body[tag] = nvr;
        return ok(c, body);
    });
}

http_response bodhi2_application::impl::latest_candidates(call& c)
{
    auto package = c.params.get_or("package", "");
    bool testing = read_bool(c, "testing").value_or(false);
    return data->read([&](const bodhi_state& s) {
        json::array list;
        const auto* pkg = s.find_package(package);
        if (pkg) {
            for (auto it = s.builds().rbegin(); it != s.builds().rend(); ++it) {
                if (it->package_id != pkg->id)
                    continue;
                const auto* rel = s.release(it->release_id);
                if (!rel || rel->state != release_state::current)
                    continue;
                auto tags = s.tags_of(*it);
                bool hit = std::find(tags.begin(), tags.end(), rel->candidate_tag) != tags.end()
                    || (testing && std::find(tags.begin(), tags.end(), rel->testing_tag) != tags.end());
                if (hit)
                    list.push_back(json::object{{"nvr", it->nvr}, {"id", 100000 + it->id}});
            }
        }
        return ok(c, list);
    });
}

// ---------------------------------------------------------------------------------------------
bodhi2_application::bodhi2_application(std::shared_ptr<bodhi_data> data, bodhi2_params params)
    : impl_(std::make_unique<impl>(std::move(data), std::move(params)))
{
}

bodhi2_application::~bodhi2_application() = default;

http_response bodhi2_application::handle(const http_request& request, const request_context& context)
{
    try {
        return impl_->handle(request, context);
    } catch (const std::exception& e) {
        return json_response(request, http::status::internal_server_error,
                             json::object{{"status", "error"},
                                          {"errors", json::array{json::object{{"location", "body"},
                                                                              {"name", "server"},
                                                                              {"description", e.what()}}}}});
    } catch (...) {
        return make_response(request, http::status::internal_server_error, "Internal Server Error", "text/plain");
    }
}

void bodhi2_application::rotate_csrf_tokens()
{
    std::vector<std::string> ids;
    {
        std::lock_guard lock(impl_->mutex);
        for (const auto& [id, s] : impl_->sessions)
            ids.push_back(id);
    }
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < ids.size(); ++i)
        tokens.push_back(sha1_hex(impl_->data->next_token()));
    std::lock_guard lock(impl_->mutex);
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (auto it = impl_->sessions.find(ids[i]); it != impl_->sessions.end())
            it->second.csrf_token = tokens[i];
}

void bodhi2_application::expire_sessions()
{
    std::lock_guard lock(impl_->mutex);
    impl_->sessions.clear();
    impl_->tickets.clear();
}

void bodhi2_application::set_openid_endpoint(std::string endpoint)
{
    std::lock_guard lock(impl_->mutex);
    impl_->params.openid_endpoint = std::move(endpoint);
}

std::size_t bodhi2_application::session_count() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions.size();
}

} // namespace fedora::emulator
