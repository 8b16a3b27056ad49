// Bodhi 1 (TurboGears 1) personality of the emulator.
#include <fedora/emulator/bodhi.hpp>

#include "bodhi_web.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <exception>
#include <mutex>
#include <unordered_map>

namespace fedora::emulator {

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace bodhi_web;

constexpr std::string_view bad_credentials_msg =
    "The credentials you supplied were not correct or did not grant access to this resource.";
constexpr std::string_view no_credentials_msg = "You must provide your credentials before accessing this resource.";

json::value opt_time(const std::optional<bodhi_time>& t)
{
    return t ? json::value(format_bodhi_time(*t)) : json::value(nullptr);
}

// Bodhi 1 knew pending/testing/stable/obsolete only.
std::string_view bodhi1_status(update_status s)
{
    switch (s) {
    case update_status::unpushed: return "pending";
    case update_status::processing: return "testing";
    default: return to_string(s);
    }
}

json::value bodhi1_request(update_request r)
{
    switch (r) {
    case update_request::testing:
    case update_request::stable:
    case update_request::obsolete: return json::value(to_string(r));
    default: return json::value(nullptr);
    }
}

json::object release_json(const bodhi_release& r)
{
    return json::object{{"name", r.bodhi1_name},
                        {"long_name", r.long_name},
                        {"id_prefix", r.id_prefix},
                        {"dist_tag", r.dist_tag},
                        {"locked", r.locked}};
}

json::object update_json(const bodhi_state& s, const bodhi_update& u)
{
    json::object j;
    const std::string title = s.title(u, ',');
    j["title"] = title;
    json::array builds;
    for (auto id : u.builds) {
        const auto* b = s.build(id);
        const auto* p = b ? s.package(b->package_id) : nullptr;
        if (!b || !p)
            continue;
        json::array committers;
        for (const auto& c : p->committers)
            committers.push_back(json::value(c));
        builds.push_back(json::object{
            {"nvr", b->nvr},
            {"package", json::object{{"name", p->name}, {"suggest_reboot", p->suggest_reboot}, {"committers", std::move(committers)}}}});
    }
    j["builds"] = std::move(builds);
    j["date_submitted"] = format_bodhi_time(u.date_submitted);
    j["date_modified"] = opt_time(u.date_modified);
    j["date_pushed"] = opt_time(u.date_pushed);
    j["submitter"] = u.submitter;
    // Bodhi 1 assigned the update ID on the first push.
    j["updateid"] = u.date_pushed ? json::value(u.alias) : json::value(nullptr);
    j["type"] = to_string(u.type);
    json::array bugs;
    for (auto id : u.bugs) {
        const auto* b = s.bug(id);
        bugs.push_back(json::object{{"bz_id", id},
                                    {"title", b ? b->title : std::string()},
                                    {"security", b && b->security},
                                    {"parent", b && b->parent}});
    }
    j["bugs"] = std::move(bugs);
    if (const auto* r = s.release(u.release_id))
        j["release"] = release_json(*r);
    j["status"] = bodhi1_status(u.status);
    j["notes"] = u.notes;
    j["request"] = bodhi1_request(u.request);
    json::array comments;
    for (auto id : u.comments) {
        const auto* c = s.comment(id);
        if (!c)
            continue;
        // Comments by release engineers carried the group in the author ("lmacken (releng)").
        std::string author = c->author;
        json::value group = nullptr;
        if (const auto* usr = s.find_user(c->author);
            usr && std::find(usr->groups.begin(), usr->groups.end(), "releng") != usr->groups.end()) {
            author += " (releng)";
            group = "releng";
        }
        comments.push_back(json::object{{"author", author},
                                        {"group", group},
                                        {"text", c->text},
                                        {"anonymous", c->anonymous},
                                        {"karma", c->karma},
                                        {"timestamp", format_bodhi_time(c->timestamp)},
                                        {"update_title", title},
                                        {"update_submitter", u.submitter},
                                        {"update_status", bodhi1_status(u.status)},
                                        {"update_request", bodhi1_request(u.request)}});
    }
    j["comments"] = std::move(comments);
    j["karma"] = u.karma;
    // No autokarma field: thresholds of 0 meant "off".
    j["stable_karma"] = u.autokarma ? u.stable_karma : 0;
    j["unstable_karma"] = u.autokarma ? u.unstable_karma : 0;
    j["close_bugs"] = u.close_bugs;
    j["nagged"] = nullptr;
    j["approved"] = opt_time(u.date_approved);
    j["critpath"] = u.critpath;
    j["critpath_approved"] = s.critpath_approved(u);
    return j;
}

json::object override_json(const bodhi_state& s, const bodhi_override& o)
{
    const auto* b = s.build(o.build_id);
    const auto* r = b ? s.release(b->release_id) : nullptr;
    return json::object{{"build", b ? b->nvr : std::string()},
                        {"date_submitted", format_bodhi_time(o.submission_date)},
                        {"notes", o.notes},
                        {"expiration", format_bodhi_time(o.expiration_date)},
                        {"date_expired", opt_time(o.expired_date)},
                        {"submitter", o.submitter},
                        {"release", r ? r->bodhi1_name : std::string()}};
}

std::string join_errors(const bodhi_outcome& o)
{
    std::string out;
    for (const auto& e : o.errors) {
        if (!out.empty())
            out += ". ";
        out += e.description;
    }
    return out;
}

std::string plural(std::size_t n, std::string_view word)
{
    return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

// "08/08/2015" (what the Bodhi 1 CLI sent) or any format parse_bodhi_time knows.
std::optional<bodhi_time> parse_bodhi1_date(std::string_view text)
{
    if (text.size() == 10 && text[2] == '/' && text[5] == '/') {
        std::string iso = std::string(text.substr(6, 4)) + "-" + std::string(text.substr(0, 2)) + "-"
            + std::string(text.substr(3, 2));
        return parse_bodhi_time(iso);
    }
    return parse_bodhi_time(text);
}

enum class identity_failure : std::uint8_t { none, bad_credentials, bad_csrf };

} // namespace

struct bodhi1_application::impl
{
    std::shared_ptr<bodhi_data> data;
    bodhi1_params params;

    struct visit
    {
        std::string user; // "" = anonymous visit
        std::uint64_t last_used = 0;
    };
    mutable std::mutex mutex;
    std::unordered_map<std::string, visit> visits;
    std::uint64_t tick = 0;

    struct call
    {
        const http_request& req;
        const request_context& ctx;
        param_map params;
        std::vector<std::string> seg;
        std::string base;
        bool json = false;
        std::string visit_key;
        std::string user;
        identity_failure failure = identity_failure::none;
        bool login_attempt = false;
    };

    impl(std::shared_ptr<bodhi_data> d, bodhi1_params p) : data(std::move(d)), params(std::move(p)) {}

    http_response handle(const http_request& req, const request_context& ctx);
    void identify(call& c);
    http_response route(call& c);

    http_response answer(call& c, json::object body, std::optional<std::string> flash,
                         http::status status = http::status::ok);
    http_response login_required(call& c, std::string_view message = {});
    http_response default_page(call& c);

    bool read_paging(call& c, std::string_view prefix, std::size_t default_limit, std::size_t& limit,
                     std::size_t& page, std::string& error);

    http_response list(call& c, std::optional<std::string> forced_user = {});
    http_response save(call& c);
    http_response request(call& c);
    http_response comment(call& c);
    http_response remove(call& c);
    http_response critpath(call& c);
    http_response updates_from_builds(call& c);
    http_response login(call& c);
    http_response logout(call& c);
    http_response override_list(call& c);
    http_response override_save(call& c, bool edit);
    http_response override_expire(call& c);
};

// ---------------------------------------------------------------------------------------------
http_response bodhi1_application::impl::handle(const http_request& req, const request_context& ctx)
{
    call c{req, ctx, {}, {}, base_url(req, ctx), false, {}, {}, identity_failure::none, false};
    std::string where, error;
    if (!parse_params(req, ctx.query, c.params, where, error))
        return html_response(req, http::status::bad_request, "Bad Request", "<p>" + html_escape(error) + "</p>");
    auto path = split_path(ctx.path_in_app);
    if (!path)
        return html_response(req, http::status::bad_request, "Bad Request", "<p>Malformed path</p>");
    c.seg = std::move(path->segments);
    std::string accept = to_lower(header_value(req, "Accept"));
    c.json = accept.find("application/json") != std::string::npos
        || accept.find("text/javascript") != std::string::npos || c.params.get_or("tg_format", "") == "json";
    identify(c);
    auto res = route(c);
    // TurboGears sends the visit cookie on every answer.
    add_cookie(res, "tg-visit", c.visit_key, "/");
    finish_head(req, res);
    return res;
}

void bodhi1_application::impl::identify(call& c)
{
    auto cookies = parse_cookies(c.req);
    std::string presented;
    if (auto it = cookies.find("tg-visit"); it != cookies.end())
        presented = it->second;
    std::string linked_user;
    {
        std::lock_guard lock(mutex);
        ++tick;
        if (auto it = visits.find(presented); !presented.empty() && it != visits.end()) {
            c.visit_key = presented;
            it->second.last_used = tick;
            linked_user = it->second.user;
        }
    }
    if (c.visit_key.empty()) {
        std::string key = sha1_hex(data->next_token());
        std::lock_guard lock(mutex);
        if (visits.size() >= params.max_visits)
            std::erase_if(visits, [](const auto& kv) { return kv.second.user.empty(); });
        visits[key] = visit{{}, tick};
        c.visit_key = key;
    }

    // 1. form login, 2. HTTP Basic, 3. the visit with its CSRF token.
    std::optional<std::pair<std::string, std::string>> credentials;
    if (c.params.has("login") && c.params.has("user_name"))
        credentials.emplace(c.params.get_or("user_name", ""), c.params.get_or("password", ""));
    else if (auto auth = header_value(c.req, "Authorization"); auth.size() > 6 && iequals(auth.substr(0, 6), "Basic "))
        if (auto decoded = base64_decode(std::string_view(auth).substr(6)))
            if (auto colon = decoded->find(':'); colon != std::string::npos)
                credentials.emplace(decoded->substr(0, colon), decoded->substr(colon + 1));
    if (credentials) {
        c.login_attempt = true;
        if (auto u = data->authenticate(credentials->first, credentials->second)) {
            c.user = u->name;
            std::lock_guard lock(mutex);
            visits[c.visit_key].user = u->name;
            return;
        }
        c.failure = identity_failure::bad_credentials;
    }
    if (!linked_user.empty()) {
        if (constant_time_equal(c.params.get_or("_csrf_token", ""), sha1_hex(c.visit_key)))
            c.user = linked_user;
        else if (c.failure == identity_failure::none)
            c.failure = identity_failure::bad_csrf;
    }
}

http_response bodhi1_application::impl::route(call& c)
{
    const auto& s = c.seg;
    if (s.empty())
        return html_response(c.req, http::status::ok, "Fedora Updates System",
                             "<p>Welcome to the Fedora Updates System.</p>");
    const std::string& head = s[0];
    if (s.size() == 1) {
        if (head == "list")
            return list(c);
        if (head == "save")
            return save(c);
        if (head == "request")
            return request(c);
        if (head == "comment")
            return comment(c);
        if (head == "delete")
            return remove(c);
        if (head == "login")
            return login(c);
        if (head == "logout")
            return logout(c);
        if (head == "mine") {
            if (c.user.empty())
                return login_required(c);
            return list(c, c.user);
        }
        if (head == "critpath")
            return critpath(c);
        if (head == "get_updates_from_builds")
            return updates_from_builds(c);
        if (head == "candidate_tags" || head == "dist_tags") {
            return data->read([&](const bodhi_state& st) {
                json::array tags;
                for (const auto& r : st.releases())
                    if (r.state == release_state::current || head == "dist_tags")
                        tags.push_back(json::value(head == "dist_tags" ? r.dist_tag : r.candidate_tag));
                return answer(c, json::object{{"tags", std::move(tags)}}, std::nullopt);
            });
        }
        if (head == "latest_builds") {
            return data->read([&](const bodhi_state& st) {
                json::object body;
                for (auto& [tag, nvr] : st.latest_builds(c.params.get_or("package", "")))
                    body[tag] = nvr;
                return answer(c, std::move(body), std::nullopt);
            });
        }
        if (head == "releases") {
            return data->read([&](const bodhi_state& st) {
                json::array list;
                for (const auto& r : st.releases())
                    list.push_back(release_json(r));
                return answer(c, json::object{{"releases", std::move(list)}}, std::nullopt);
            });
        }
        // TurboGears' Root.default: anything else is taken as a search term, HTML only.
        return default_page(c);
    }
    if (s.size() == 2 && head == "override") {
        if (s[1] == "list")
            return override_list(c);
        if (s[1] == "save")
            return override_save(c, false);
        if (s[1] == "save_edit_cli")
            return override_save(c, true);
        if (s[1] == "expire")
            return override_expire(c);
    }
    if (s.size() == 2 && head == "user")
        return list(c, s[1]);
    return html_response(c.req, http::status::not_found, "404 Not Found",
                         "<p>The path '" + html_escape(c.ctx.path_in_app) + "' was not found.</p>");
}

// ---------------------------------------------------------------------------------------------
http_response bodhi1_application::impl::answer(call& c, json::object body, std::optional<std::string> flash,
                                               http::status status)
{
    body["tg_flash"] = flash ? json::value(*flash) : json::value(nullptr);
    if (c.json)
        return json_response(c.req, status, body, params.json_content_type);
    std::string html;
    if (flash)
        html += "<div class=\"flash\">" + html_escape(*flash) + "</div>\n";
    html += "<pre>" + html_escape(json::serialize(body)) + "</pre>";
    return html_response(c.req, status, "Fedora Updates System", html);
}

http_response bodhi1_application::impl::login_required(call& c, std::string_view message)
{
    if (message.empty())
        message = c.failure == identity_failure::bad_credentials ? bad_credentials_msg : no_credentials_msg;
    json::object original;
    for (const auto& [k, v] : c.params.items())
        if (k != "user_name" && k != "password" && k != "login")
            original[k] = v;
    json::object body{{"logging_in", true},
                      {"message", message},
                      {"forward_url", nullptr},
                      {"previous_url", target_path(c.req)},
                      {"original_parameters", std::move(original)}};
    return answer(c, std::move(body), std::nullopt, http::status::forbidden);
}

http_response bodhi1_application::impl::default_page(call& c)
{
    const std::string& term = c.seg.front();
    std::size_t n = data->read([&](const bodhi_state& s) {
        update_filter f;
        f.packages = {term};
        return s.query_updates(f).size();
    });
    return html_response(c.req, http::status::ok, "Fedora Updates System",
                         "<p>" + html_escape(term) + ": " + html_escape(plural(n, "update")) + " found</p>");
}

bool bodhi1_application::impl::read_paging(call& c, std::string_view prefix, std::size_t default_limit,
                                           std::size_t& limit, std::size_t& page, std::string& error)
{
    limit = default_limit;
    page = 1;
    std::string limit_key = std::string(prefix) + "_tgp_limit";
    std::string page_key = std::string(prefix) + "_tgp_no";
    if (auto v = c.params.get(limit_key)) {
        auto n = parse_int(*v);
        if (!n || *n < 0) {
            error = "Invalid value for " + limit_key + ": " + *v;
            return false;
        }
        limit = static_cast<std::size_t>(*n);
    }
    if (auto v = c.params.get(page_key)) {
        auto n = parse_int(*v);
        if (!n || *n < 1) {
            error = "Invalid value for " + page_key + ": " + *v;
            return false;
        }
        page = static_cast<std::size_t>(*n);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Updates
http_response bodhi1_application::impl::list(call& c, std::optional<std::string> forced_user)
{
    std::size_t limit = 0, page = 1;
    std::string error;
    if (!read_paging(c, "updates", params.default_page_size, limit, page, error))
        return answer(c, {}, error);
    auto list_error = [&](std::string message) {
        return answer(c, json::object{{"error", message}, {"num_items", 0}, {"title", "0 updates found"},
                                      {"updates", json::array{}}},
                      std::nullopt);
    };
    bool mine = tg_bool(c.params.get_or("mine", ""));
    if (mine && c.user.empty())
        return answer(c, json::object{{"updates", json::array{}}, {"num_items", 0}, {"title", "0 updates found"}},
                      "You must be logged in to see your updates", http::status::unauthorized);

    update_filter f;
    if (auto st = c.params.get("status"); st && !st->empty()) {
        if (*st == "pending")
            f.statuses = {update_status::pending, update_status::unpushed};
        else if (*st == "testing")
            f.statuses = {update_status::testing, update_status::processing};
        else if (*st == "stable" || *st == "obsolete")
            f.statuses = {*parse_update_status(*st)};
        else
            return list_error("Unknown status '" + *st + "'");
        f.order_by_date_pushed = *st == "stable";
    }
    if (auto t = c.params.get("type_"); t && !t->empty()) {
        if (auto parsed = parse_update_type(*t))
            f.type = parsed;
        else
            return list_error("Unknown type '" + *t + "'");
    }
    if (auto r = c.params.get("request"); r && !r->empty()) {
        auto parsed = parse_update_request(*r);
        if (!parsed)
            return list_error("Unknown request '" + *r + "'");
        f.requests = {*parsed};
    }
    for (const auto& b : c.params.list("bugs")) {
        auto n = parse_int(b);
        if (!n || *n < 0 || *n > 0xffffffffLL)
            return list_error("Invalid bug ID specified: " + b);
        f.bugs.push_back(static_cast<std::uint32_t>(*n));
    }
    f.cves = c.params.list("cves");
    struct date_key
    {
        const char* name;
        std::optional<bodhi_time>* slot;
    };
    for (auto [name, slot] : {date_key{"created_since", &f.submitted_since}, date_key{"start_date", &f.submitted_since},
                              date_key{"end_date", &f.submitted_before}, date_key{"pushed_since", &f.pushed_since},
                              date_key{"modified_since", &f.modified_since}}) {
        if (auto v = c.params.get(name); v && !v->empty()) {
            auto t = parse_bodhi_time(*v);
            if (!t)
                return list_error(std::string("Invalid date for ") + name + ": " + *v);
            *slot = *t;
        }
    }
    if (forced_user)
        f.user = *forced_user;
    else if (mine)
        f.user = c.user;
    else if (auto u = c.params.get("username"); u && !u->empty())
        f.user = *u;

    return data->read([&](const bodhi_state& s) {
        if (auto r = c.params.get("release"); r && !r->empty()) {
            const auto* rel = s.find_release(*r);
            if (!rel)
                return list_error("Unknown release '" + *r + "'");
            f.releases = {rel->id};
        }
        // `package` was overloaded: update title, update ID, package name, then build NVR.
        for (const auto& key : c.params.all("package")) {
            if (key.empty())
                continue;
            update_filter probe;
            probe.titles = {key};
            if (!s.query_updates(probe).empty())
                f.titles.push_back(key);
            else if (const auto* u = s.find_update(key); u && u->alias == key)
                f.aliases.push_back(key);
            else if (s.find_package(key))
                f.packages.push_back(key);
            else
                f.builds.push_back(key);
        }
        auto ids = s.query_updates(f);
        if (tg_bool(c.params.get_or("count_only", "")))
            return answer(c, json::object{{"num_items", ids.size()}}, std::nullopt);
        json::array list;
        std::size_t first = limit == 0 ? 0 : (page - 1) * limit;
        std::size_t last = limit == 0 ? ids.size() : std::min(ids.size(), first + limit);
        for (std::size_t i = first; i < last; ++i)
            list.push_back(update_json(s, *s.update(ids[i])));
        return answer(c, json::object{{"updates", std::move(list)},
                                      {"num_items", ids.size()},
                                      {"title", plural(ids.size(), "update") + " found"}},
                      std::nullopt);
    });
}

http_response bodhi1_application::impl::save(call& c)
{
    if (c.user.empty())
        return login_required(c);
    update_save_params p;
    p.builds = c.params.list("builds");
    if (p.builds.empty())
        return answer(c, {}, std::string("Error: You must specify at least one build"));
    std::string type = c.params.get_or("type_", c.params.get_or("type", ""));
    auto parsed_type = parse_update_type(type);
    if (!parsed_type)
        return answer(c, {}, "Unknown update type: " + type
                                 + ".  Valid types are: ['bugfix', 'enhancement', 'newpackage', 'security']");
    p.type = *parsed_type;
    for (const auto& b : c.params.list("bugs")) {
        auto n = parse_int(b);
        if (!n || *n < 0 || *n > 0xffffffffLL)
            return answer(c, {}, "Invalid bug ID specified: " + b);
        p.bugs.push_back(static_cast<std::uint32_t>(*n));
    }
    p.notes = c.params.get_or("notes", "");
    if (p.notes.empty())
        return answer(c, {}, std::string("Error: You must supply notes for this update"));
    std::string request = c.params.get_or("request", "testing");
    if (request == "testing")
        p.request = update_request::testing;
    else if (request == "stable")
        p.request = update_request::stable;
    else if (request.empty() || iequals(request, "none"))
        p.request = update_request::none;
    else
        return answer(c, {}, "Unknown request: " + request);
    p.close_bugs = tg_bool(c.params.get_or("close_bugs", "True"));
    p.suggest = tg_bool(c.params.get_or("suggest_reboot", "False")) ? update_suggest::reboot
                                                                     : update_suggest::unspecified;
    p.autokarma = tg_bool(c.params.get_or("autokarma", "True"));
    for (auto [key, slot] : {std::pair{"stable_karma", &p.stable_karma}, std::pair{"unstable_karma", &p.unstable_karma}}) {
        if (auto v = c.params.get(key); v && !v->empty()) {
            auto n = parse_int(*v);
            if (!n || *n < -1000 || *n > 1000)
                return answer(c, {}, std::string("Invalid value for ") + key + ": " + *v);
            *slot = static_cast<int>(*n);
        }
    }
    p.edited = c.params.get_or("edited", "");
    return data->write([&](bodhi_state& s) {
        auto out = s.save_update(p, c.user);
        if (!out.ok())
            return answer(c, {}, "Error: " + join_errors(out));
        json::array list;
        for (auto id : out.ids)
            list.push_back(update_json(s, *s.update(id)));
        return answer(c, json::object{{"updates", std::move(list)}}, out.message);
    });
}

http_response bodhi1_application::impl::request(call& c)
{
    if (c.user.empty())
        return login_required(c);
    std::string title = c.params.get_or("update", "");
    std::string action = c.params.get_or("action", c.params.get_or("request", ""));
    return data->write([&](bodhi_state& s) {
        // Bodhi 1 looked the update up by title only.
        update_filter f;
        f.titles = {title};
        auto ids = title.empty() ? std::vector<std::uint32_t>{} : s.query_updates(f);
        if (ids.empty())
            return answer(c, {}, "Update " + title + " not found");
        auto r = parse_update_request(action);
        if (!r)
            return answer(c, json::object{{"update", update_json(s, *s.update(ids.front()))}},
                          "Unknown request: " + action);
        auto out = s.set_request(ids.front(), *r, c.user);
        std::string flash = out.ok() ? out.message : join_errors(out);
        return answer(c, json::object{{"update", update_json(s, *s.update(ids.front()))}}, flash);
    });
}

http_response bodhi1_application::impl::comment(call& c)
{
    if (c.user.empty())
        return login_required(c);
    std::string key = c.params.get_or("title", c.params.get_or("update", ""));
    comment_params p;
    p.author = c.user;
    p.text = c.params.get_or("text", "");
    std::string karma = c.params.get_or("karma", "0");
    auto n = parse_int(karma);
    if (!n || *n < -1 || *n > 1)
        return answer(c, {}, "Karma must be one of (1, 0, -1), not " + karma);
    p.karma = static_cast<int>(*n);
    return data->write([&](bodhi_state& s) {
        const auto* u = s.find_update(key);
        if (!u)
            return answer(c, {}, "Update " + key + " does not exist");
        p.update_id = u->id;
        auto out = s.add_comment(p);
        if (!out.ok())
            return answer(c, {}, join_errors(out));
        std::optional<std::string> flash;
        for (const auto& cv : out.caveats)
            flash = flash ? *flash + " " + cv.description : cv.description;
        return answer(c, json::object{{"update", update_json(s, *s.update(p.update_id))}}, flash);
    });
}

http_response bodhi1_application::impl::remove(call& c)
{
    if (c.user.empty())
        return login_required(c);
    std::string title = c.params.get_or("update", "");
    return data->write([&](bodhi_state& s) {
        update_filter f;
        f.titles = {title};
        auto ids = title.empty() ? std::vector<std::uint32_t>{} : s.query_updates(f);
        if (ids.empty())
            return answer(c, {}, "Update " + title + " not found");
        auto out = s.delete_update(ids.front(), c.user);
        return answer(c, {}, out.ok() ? out.message : join_errors(out));
    });
}

http_response bodhi1_application::impl::critpath(call& c)
{
    std::size_t limit = 0, page = 1;
    std::string error;
    if (!read_paging(c, "updates", params.default_page_size, limit, page, error))
        return answer(c, {}, error);
    return data->read([&](const bodhi_state& s) {
        update_filter f;
        f.critpath = true;
        f.statuses = {update_status::pending, update_status::testing};
        if (tg_bool(c.params.get_or("untested", "")))
            f.critpath_approved = false;
        if (auto r = c.params.get("release"); r && !r->empty()) {
            const auto* rel = s.find_release(*r);
            if (!rel)
                return answer(c, {}, "Unknown release '" + *r + "'");
            f.releases = {rel->id};
        }
        auto ids = s.query_updates(f);
        json::array list;
        std::size_t first = limit == 0 ? 0 : (page - 1) * limit;
        std::size_t last = limit == 0 ? ids.size() : std::min(ids.size(), first + limit);
        for (std::size_t i = first; i < last; ++i)
            list.push_back(update_json(s, *s.update(ids[i])));
        return answer(c, json::object{{"updates", std::move(list)},
                                      {"num_items", ids.size()},
                                      {"title", plural(ids.size(), "Critical Path Update")}},
                      std::nullopt);
    });
}

http_response bodhi1_application::impl::updates_from_builds(call& c)
{
    return data->read([&](const bodhi_state& s) {
        json::object body;
        for (const auto& nvr : c.params.list("builds")) {
            const auto* b = s.find_build(nvr);
            const auto* u = b && b->update_id ? s.update(b->update_id) : nullptr;
            if (u && !u->deleted)
                body[nvr] = update_json(s, *u);
        }
        return answer(c, std::move(body), std::nullopt);
    });
}

http_response bodhi1_application::impl::login(call& c)
{
    if (!c.login_attempt)
        return login_required(c, "Please log in.");
    if (c.user.empty())
        return login_required(c, bad_credentials_msg);
    auto u = data->user(c.user);
    json::array groups, memberships;
    for (const auto& g : u->groups) {
        groups.push_back(json::value(g));
        memberships.push_back(json::object{{"name", g}});
    }
    json::object user{{"username", u->name},
                      {"id", 100000 + u->id},
                      {"human_name", u->human_name},
                      {"email", u->email},
                      {"status", "active"},
                      {"groups", std::move(groups)},
                      {"approved_memberships", std::move(memberships)}};
    return answer(c, json::object{{"user", std::move(user)}, {"_csrf_token", sha1_hex(c.visit_key)}},
                  "Welcome, " + u->name);
}

http_response bodhi1_application::impl::logout(call& c)
{
    {
        std::lock_guard lock(mutex);
        if (auto it = visits.find(c.visit_key); it != visits.end())
            it->second.user.clear();
    }
    c.user.clear();
    return answer(c, {}, std::string("You have successfully logged out."));
}

// ---------------------------------------------------------------------------------------------
// Buildroot overrides
http_response bodhi1_application::impl::override_list(call& c)
{
    if (c.user.empty())
        return login_required(c);
    std::size_t limit = 0, page = 1;
    std::string error;
    if (!read_paging(c, "overrides", params.override_page_size, limit, page, error))
        return answer(c, {}, error);
    bool mine = tg_bool(c.params.get_or("mine", ""));
    bool show_expired = tg_bool(c.params.get_or("show_expired", ""));
    return data->read([&](const bodhi_state& s) {
        override_filter f;
        if (mine)
            f.user = c.user;
        if (!show_expired)
            f.expired = false;
        if (auto b = c.params.get("build"); b && !b->empty())
            f.builds = {*b};
        if (auto r = c.params.get("release"); r && !r->empty()) {
            const auto* rel = s.find_release(*r);
            if (!rel)
                return answer(c, {}, "Unknown release '" + *r + "'");
            f.releases = {rel->id};
        }
        auto ids = s.query_overrides(f);
        json::array list;
        std::size_t first = limit == 0 ? 0 : (page - 1) * limit;
        std::size_t last = limit == 0 ? ids.size() : std::min(ids.size(), first + limit);
        for (std::size_t i = first; i < last; ++i)
            list.push_back(override_json(s, *s.override_record(ids[i])));
        std::string title = plural(ids.size(), "Buildroot Override");
        if (mine)
            title += " submitted by " + c.user;
        return answer(c, json::object{{"overrides", std::move(list)},
                                      {"title", title},
                                      {"num_items", ids.size()},
                                      {"show_expired", show_expired},
                                      {"mine", mine}},
                      std::nullopt);
    });
}

http_response bodhi1_application::impl::override_save(call& c, bool edit)
{
    if (c.user.empty())
        return login_required(c);
    override_save_params p;
    p.nvrs = c.params.list("builds");
    p.notes = c.params.get_or("notes", "");
    std::string expiration = c.params.get_or("expiration", "");
    bodhi_time now = data->now();
    if (expiration.empty()) {
        p.expiration_date = now + 7 * 86400;
    } else if (auto t = parse_bodhi1_date(expiration)) {
        p.expiration_date = *t;
    } else {
        return answer(c, {}, "Invalid expiration date: " + expiration);
    }
    if (edit && !p.nvrs.empty())
        p.edited = p.nvrs.front();
    return data->write([&](bodhi_state& s) {
        auto out = s.save_override(p, c.user);
        if (!out.ok())
            return answer(c, {}, join_errors(out));
        return answer(c, override_json(s, *s.override_record(out.ids.back())), out.message);
    });
}

http_response bodhi1_application::impl::override_expire(call& c)
{
    if (c.user.empty())
        return login_required(c);
    std::string nvr = c.params.get_or("build", "");
    return data->write([&](bodhi_state& s) {
        auto out = s.expire_override(nvr, c.user);
        return answer(c, {}, out.ok() ? out.message : join_errors(out));
    });
}

// ---------------------------------------------------------------------------------------------
bodhi1_application::bodhi1_application(std::shared_ptr<bodhi_data> data, bodhi1_params params)
    : impl_(std::make_unique<impl>(std::move(data), std::move(params)))
{
}

bodhi1_application::~bodhi1_application() = default;

http_response bodhi1_application::handle(const http_request& request, const request_context& context)
{
    try {
        return impl_->handle(request, context);
    } catch (const std::exception& e) {
        return html_response(request, http::status::internal_server_error, "500 Internal Server Error",
                             "<p>" + html_escape(e.what()) + "</p>");
    } catch (...) {
        return make_response(request, http::status::internal_server_error, "Internal Server Error", "text/plain");
    }
}

void bodhi1_application::expire_visits()
{
    std::lock_guard lock(impl_->mutex);
    impl_->visits.clear();
}

std::size_t bodhi1_application::visit_count() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->visits.size();
}

} // namespace fedora::emulator
