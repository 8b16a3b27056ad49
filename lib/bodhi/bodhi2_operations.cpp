// The Bodhi 2 adapter: every logical operation as Cornice services (GET reads with query
// strings, POST writes with JSON bodies and csrf_token), and their answers read into the
// shared model. Errors arrive as Cornice bodies and are handled by read_bodhi2_answer.
#include "model.hpp"

namespace fedora::bodhi::v2 {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using namespace fedora::bodhi::detail;

namespace {

constexpr server_version self = server_version::bodhi2;

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& i : items) {
        if (!out.empty())
            out += ',';
        out += i;
    }
    return out;
}

operation_request get(std::string_view path, std::initializer_list<std::string_view> segments = {})
{
    return make_request(bhttp::verb::get, path, segments);
}

operation_request write(std::string_view path, std::initializer_list<std::string_view> segments = {})
{
    auto r = make_request(bhttp::verb::post, path, segments);
    if (r.refused)
        return r;
    r.needs_auth = true;
    r.needs_csrf = true;
    r.safe_to_repeat = false;
    r.json.emplace();
    return r;
}

void paging(operation_request& r, int page, int rows)
{
    if (!valid_paging(page, rows, r))
        return;
    r.query.add("page", std::to_string(page));
    r.query.add("rows_per_page", std::to_string(rows));
}

template <class T, class Read>
error_code read_page(raw_reply& r, std::string_view key, page<T>& out, Read read)
{
    const auto* o = r.body.if_object();
    const auto* list = o ? arr(*o, key) : nullptr;
    if (!list)
        return wrong_shape(r, "no `" + std::string(key) + "` list");
    for (const auto& x : *list)
        if (const auto* xo = x.if_object())
            out.rows.push_back(read(*xo));
    out.number = static_cast<int>(num(*o, "page"));
    out.pages = static_cast<int>(num(*o, "pages"));
    out.rows_per_page = static_cast<int>(num(*o, "rows_per_page"));
    out.total = num(*o, "total");
    return {};
}

std::optional<std::string> user_of(const std::string& user, bool mine, const auth_params& auth,
                                   operation_request& refuse_into)
{
    if (!user.empty())
        return user;
    if (!mine)
        return std::nullopt;
    if (auth.who().empty()) {
        refuse_into = operation_request::refuse(errc::invalid_argument,
                                                "`mine` needs a user name (credentials or a session that knows it)");
        return std::nullopt;
    }
    return auth.who();
}

} // namespace

// ---- updates ------------------------------------------------------------------------------

operation_request build(const ops::query_updates& op, const auth_params& auth)
{
    const auto& q = op.query;
    auto r = get("updates/");
    paging(r, q.page, q.rows_per_page);
    if (r.refused)
        return r;
    if (!q.packages.empty())
        r.query.add("packages", joined(q.packages));
    if (!q.builds.empty())
        r.query.add("builds", joined(q.builds));
    if (!q.release.empty())
        r.query.add("releases", q.release);
    if (!q.status.empty())
        r.query.add("status", q.status);
    if (!q.type.empty())
        r.query.add("type", q.type);
    if (!q.request.empty())
        r.query.add("request", q.request);
    if (!q.bugs.empty()) {
        std::string bugs;
        for (auto b : q.bugs)
            bugs += (bugs.empty() ? "" : ",") + std::to_string(b);
        r.query.add("bugs", bugs);
    }
    if (auto u = user_of(q.user, q.mine, auth, r))
        r.query.add("user", *u);
    if (r.refused)
        return r;
    if (q.critpath)
        r.query.add("critpath", *q.critpath ? "true" : "false");
    if (!q.like.empty())
        r.query.add("like", q.like);
    return r;
}

error_code parse(const ops::query_updates&, raw_reply& r, page<update>& out)
{
    return read_page(r, "updates", out, bodhi2_update);
}

operation_request build(const ops::get_update& op, const auth_params&)
{
    return get("updates/", {to_bodhi2_key(op.key)});
}

error_code parse(const ops::get_update&, raw_reply& r, update& out)
{
    const auto* o = r.body.if_object();
    const auto* u = o ? obj(*o, "update") : nullptr;
    if (!u)
        return wrong_shape(r, "no `update`");
    out = bodhi2_update(*u);
    return {};
}

operation_request build(const ops::save_update& op, const auth_params&)
{
    const auto& f = op.fields;
    if (f.builds.empty())
        return operation_request::refuse(errc::invalid_argument, "an update needs at least one build");
    auto r = write("updates/");
    auto& b = *r.json;
    json::array builds;
    for (const auto& nvr : f.builds)
        builds.push_back(json::value(nvr));
    b["builds"] = std::move(builds);
    b["type"] = f.type;
    std::string bugs;
    for (auto id : f.bugs)
        bugs += (bugs.empty() ? "" : ",") + std::to_string(id);
    b["bugs"] = bugs;
    b["notes"] = f.notes;
    b["request"] = f.request;
    b["close_bugs"] = f.close_bugs;
    b["suggest"] = f.suggest.empty() ? std::string("unspecified") : f.suggest;
    if (!f.severity.empty())
        b["severity"] = f.severity;
    b["autokarma"] = f.autokarma;
    b["stable_karma"] = f.stable_karma;
    b["unstable_karma"] = f.unstable_karma;
    if (f.require_bugs)
        b["require_bugs"] = *f.require_bugs;
    if (f.require_testcases)
        b["require_testcases"] = *f.require_testcases;
    if (!f.requirements.empty())
        b["requirements"] = f.requirements;
    b["edited"] = to_bodhi2_key(f.edited);
    return r;
}

error_code parse(const ops::save_update&, raw_reply& r, save_result& out)
{
    const auto* o = r.body.if_object();
    if (!o)
        return wrong_shape(r, "save answer is not an object");
    if (const auto* list = arr(*o, "updates")) {
        for (const auto& u : *list)
            if (const auto* uo = u.if_object())
                out.updates.push_back(bodhi2_update(*uo));
    } else if (o->contains("alias") || o->contains("title")) {
        out.updates.push_back(bodhi2_update(*o));
    } else {
        return wrong_shape(r, "no update in the save answer");
    }
    out.caveats = caveats_of(*o);
    return {};
}

operation_request build(const ops::request_update& op, const auth_params&)
{
    if (op.key.empty() || op.action.empty())
        return operation_request::refuse(errc::invalid_argument, "an update key and an action are required");
    auto r = write("updates/", {to_bodhi2_key(op.key), "request"});
    if (r.refused)
        return r;
    (*r.json)["request"] = op.action;
    return r;
}

error_code parse(const ops::request_update&, raw_reply& r, request_result& out)
{
    const auto* o = r.body.if_object();
    const auto* u = o ? obj(*o, "update") : nullptr;
    if (!u)
        return wrong_shape(r, "no `update`");
    out.update = bodhi2_update(*u);
    out.caveats = caveats_of(*o);
    return {};
}

operation_request build(const ops::comment& op, const auth_params&)
{
    const auto& f = op.fields;
    if (f.notify_by_email)
        return operation_request::not_supported("the e-mail notification flag of a comment", self);
    if (f.update.empty())
        return operation_request::refuse(errc::invalid_argument, "the update's key is required");
    auto r = write("comments/");
    r.needs_auth = f.anonymous_email.empty();
    auto& b = *r.json;
    b["update"] = to_bodhi2_key(f.update);
    b["text"] = f.text;
    b["karma"] = f.karma;
    if (f.karma_critpath)
        b["karma_critpath"] = *f.karma_critpath;
    if (!f.bug_feedback.empty()) {
        json::array list;
        for (const auto& [id, karma] : f.bug_feedback)
            list.push_back(json::object{{"bug_id", id}, {"karma", karma}});
        b["bug_feedback"] = std::move(list);
    }
    if (!f.testcase_feedback.empty()) {
        json::array list;
        for (const auto& [name, karma] : f.testcase_feedback)
            list.push_back(json::object{{"testcase_name", name}, {"karma", karma}});
        b["testcase_feedback"] = std::move(list);
    }
    if (!f.anonymous_email.empty())
        b["email"] = f.anonymous_email;
    return r;
}

error_code parse(const ops::comment&, raw_reply& r, comment_result& out)
{
    const auto* o = r.body.if_object();
    const auto* c = o ? obj(*o, "comment") : nullptr;
    if (!c)
        return wrong_shape(r, "no `comment`");
    out.comment = bodhi2_comment(*c);
    if (const auto* u = obj(*c, "update"))
        out.update = bodhi2_update(*u);
    out.caveats = caveats_of(*o);
    return {};
}

operation_request build(const ops::delete_update&, const auth_params&)
{
    return operation_request::not_supported("deleting an update (request \"unpush\" instead)", self);
}
error_code parse(const ops::delete_update&, raw_reply&, std::string&) { return make_error_code(errc::not_supported); }

// ---- releases, builds, tags ----------------------------------------------------------------

operation_request build(const ops::releases&, const auth_params&)
{
    auto r = get("releases/");
    paging(r, 1, 100);
    return r;
}

error_code parse(const ops::releases&, raw_reply& r, std::vector<release>& out)
{
    page<release> p;
    if (auto ec = read_page(r, "releases", p, bodhi2_release))
        return ec;
    out = std::move(p.rows);
    return {};
}

operation_request build(const ops::latest_builds& op, const auth_params&)
{
    if (op.package.empty())
        return operation_request::refuse(errc::invalid_argument, "a package name is required");
    auto r = get("latest_builds");
    r.query.add("package", op.package);
    return r;
}

error_code parse(const ops::latest_builds&, raw_reply& r, std::vector<std::pair<std::string, std::string>>& out)
{
    const auto* o = r.body.if_object();
    if (!o)
        return wrong_shape(r, "latest_builds answer is not an object");
    for (const auto& [k, v] : *o)
        if (v.is_string())
            out.emplace_back(std::string(k), std::string(v.get_string()));
    return {};
}

// Bodhi 1's candidate_tags listed the candidate tag of each current release.
operation_request build(const ops::candidate_tags&, const auth_params&)
{
    auto r = get("releases/");
    paging(r, 1, 100);
    return r;
}

error_code parse(const ops::candidate_tags&, raw_reply& r, std::vector<std::string>& out)
{
    page<release> p;
    if (auto ec = read_page(r, "releases", p, bodhi2_release))
        return ec;
    for (const auto& rel : p.rows)
        if (rel.state == "current" && !rel.candidate_tag.empty())
            out.push_back(rel.candidate_tag);
    return {};
}

operation_request build(const ops::critpath_updates& op, const auth_params&)
{
    if (op.untested)
        return operation_request::not_supported("listing critical path updates not yet approved", self);
    auto r = get("updates/");
    paging(r, op.page, op.rows_per_page);
    if (r.refused)
        return r;
    r.query.add("critpath", "true");
    if (!op.release.empty())
        r.query.add("releases", op.release);
    if (!op.status.empty())
        r.query.add("status", op.status);
    return r;
}

error_code parse(const ops::critpath_updates&, raw_reply& r, page<update>& out)
{
    return read_page(r, "updates", out, bodhi2_update);
}

// ---- overrides ----------------------------------------------------------------------------

operation_request build(const ops::save_override& op, const auth_params&)
{
    const auto& f = op.fields;
    if (f.nvrs.empty())
        return operation_request::refuse(errc::invalid_argument, "an override needs at least one NVR");
    if (f.expiration_date.empty())
        return operation_request::refuse(errc::invalid_argument, "Bodhi 2 needs an expiration_date");
    auto r = write("overrides/");
    auto& b = *r.json;
    b["nvr"] = joined(f.nvrs);
    b["notes"] = f.notes;
    b["expiration_date"] = f.expiration_date;
    return r;
}

error_code parse(const ops::save_override&, raw_reply& r, override_result& out)
{
    const auto* o = r.body.if_object();
    if (!o)
        return wrong_shape(r, "override answer is not an object");
    if (const auto* list = arr(*o, "overrides")) {
        for (const auto& x : *list)
            if (const auto* xo = x.if_object())
                out.overrides.push_back(bodhi2_override(*xo));
    } else if (o->contains("nvr")) {
        out.overrides.push_back(bodhi2_override(*o));
    } else {
        return wrong_shape(r, "no override in the answer");
    }
    out.caveats = caveats_of(*o);
    return {};
}

operation_request build(const ops::query_overrides& op, const auth_params& auth)
{
    const auto& q = op.query;
    auto r = get("overrides/");
    paging(r, q.page, q.rows_per_page);
    if (r.refused)
        return r;
    if (auto u = user_of(q.user, q.mine, auth, r))
        r.query.add("user", *u);
    if (r.refused)
        return r;
    if (!q.release.empty())
        r.query.add("releases", q.release);
    if (!q.build.empty())
        r.query.add("builds", q.build);
    if (q.expired)
        r.query.add("expired", *q.expired ? "true" : "false");
    return r;
}

error_code parse(const ops::query_overrides&, raw_reply& r, page<override_record>& out)
{
    return read_page(r, "overrides", out, bodhi2_override);
}

operation_request build(const ops::get_override& op, const auth_params&) { return get("overrides/", {op.nvr}); }

error_code parse(const ops::get_override&, raw_reply& r, override_record& out)
{
    const auto* o = r.body.if_object();
    const auto* x = o ? obj(*o, "override") : nullptr;
    if (!x)
        return wrong_shape(r, "no `override`");
    out = bodhi2_override(*x);
    return {};
}

// The edit payload of the current override with expired=true (Bodhi 2 has no expire call).
operation_request build(const ops::expire_override& op, const auth_params&)
{
    if (op.nvr.empty())
        return operation_request::refuse(errc::invalid_argument, "an NVR is required");
    if (op.current.nvr != op.nvr)
        return operation_request::refuse(errc::invalid_argument,
                                         "expiring on Bodhi 2 needs the current override (client::async_expire_override)");
    auto r = write("overrides/");
    auto& b = *r.json;
    b["nvr"] = op.nvr;
    b["edited"] = op.nvr;
    b["expired"] = true;
    b["notes"] = op.current.notes.size() >= 2 ? op.current.notes : std::string("expired");
    b["expiration_date"] = op.current.expiration_date;
    return r;
}

error_code parse(const ops::expire_override&, raw_reply& r, std::string& out)
{
    const auto* o = r.body.if_object();
    if (!o || !o->contains("nvr"))
        return wrong_shape(r, "no override in the answer");
    if (str(*o, "expired_date").empty())
        return wrong_shape(r, "the override is still active after expiring it");
    out.clear();
    return {};
}

// ---- Bodhi 2 only -------------------------------------------------------------------------

operation_request build(const ops::query_packages& op, const auth_params&)
{
    auto r = get("packages/");
    paging(r, op.query.page, op.query.rows_per_page);
    if (r.refused)
        return r;
    if (!op.query.name.empty())
        r.query.add("name", op.query.name);
    if (!op.query.like.empty())
        r.query.add("like", op.query.like);
    return r;
}

error_code parse(const ops::query_packages&, raw_reply& r, page<package>& out)
{
    return read_page(r, "packages", out, bodhi2_package);
}

operation_request build(const ops::query_comments& op, const auth_params&)
{
    const auto& q = op.query;
    auto r = get("comments/");
    paging(r, q.page, q.rows_per_page);
    if (r.refused)
        return r;
    if (!q.updates.empty()) {
        std::vector<std::string> keys;
        for (const auto& k : q.updates)
            keys.push_back(to_bodhi2_key(k));
        // Titles have spaces: one `updates` field per key, never joined.
        for (const auto& k : keys)
            r.query.add("updates", k);
    }
    if (!q.packages.empty())
        r.query.add("packages", joined(q.packages));
    if (!q.user.empty())
        r.query.add("user", q.user);
    if (!q.like.empty())
        r.query.add("like", q.like);
    return r;
}

error_code parse(const ops::query_comments&, raw_reply& r, page<bodhi::comment>& out)
{
    return read_page(r, "comments", out, bodhi2_comment);
}

// ---- sessions -----------------------------------------------------------------------------

// The OpenID flow runs in the generic path (force_login); then GET csrf for the session's token.
operation_request build(const ops::login&, const auth_params& auth)
{
    if (!auth.has_credentials())
        return operation_request::refuse(errc::auth_error, "login needs a username and a password");
    auto r = get("csrf");
    r.needs_auth = true;
    r.force_login = true;
    r.safe_to_repeat = false;
    return r;
}

error_code parse(const ops::login&, raw_reply& r, login_info& out)
{
    const auto* o = r.body.if_object();
    auto token = o ? str(*o, "csrf_token") : std::string();
    if (token.empty())
        return wrong_shape(r, "csrf answer without `csrf_token`");
    r.session.csrf_token = std::move(token);
    out.username = r.session.username;
    return {};
}

operation_request build(const ops::logout&, const auth_params& auth)
{
    auto r = get("logout");
    r.needs_auth = auth.has_session();
    r.expect_json = false;
    r.safe_to_repeat = false;
    if (!auth.has_session())
        return operation_request::refuse(errc::auth_error, "logout needs the session to end");
    return r;
}

error_code parse(const ops::logout&, raw_reply& r, none&)
{
    r.session.username.clear();
    return {};
}

} // namespace fedora::bodhi::v2
