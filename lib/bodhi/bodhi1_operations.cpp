// The Bodhi 1 adapter: every logical operation as TurboGears 1 calls (POST, form body,
// JSON by Accept), and their answers read into the shared model. Application failures are
// HTTP 200 with only a message in tg_flash: each parser knows which payload key means
// success (spec §5) and turns its absence into app_error.
#include "model.hpp"

namespace fedora::bodhi::v1 {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using namespace fedora::bodhi::detail;

namespace {

constexpr server_version self = server_version::bodhi1;

const char* tg_bool(bool v) { return v ? "True" : "False"; }

std::string joined(const std::vector<std::string>& items, char sep)
{
    std::string out;
    for (const auto& i : items) {
        if (!out.empty())
            out += sep;
        out += i;
    }
    return out;
}

std::string joined_ids(const std::vector<std::int64_t>& ids)
{
    std::string out;
    for (auto id : ids) {
        if (!out.empty())
            out += ',';
        out += std::to_string(id);
    }
    return out;
}

operation_request post(std::string_view path) { return make_request(bhttp::verb::post, path); }

operation_request write(std::string_view path)
{
    auto r = post(path);
    r.needs_auth = true;
    r.safe_to_repeat = false;
    return r;
}

std::string flash_of(const raw_reply& r)
{
    const auto* o = r.body.if_object();
    return o ? str(*o, "tg_flash") : std::string();
}

// No payload key: the flash is the failure.
error_code flash_failure(raw_reply& r) { return app_error_from_flash(r.diag, flash_of(r)); }

std::vector<caveat> flash_caveat(const std::string& flash)
{
    if (flash.empty())
        return {};
    return {caveat{"flash", flash}};
}

error_code read_update_page(raw_reply& r, page<update>& out, int number, int rows)
{
    const auto* o = r.body.if_object();
    if (!o)
        return wrong_shape(r, "list answer is not an object");
    if (auto e = str(*o, "error"); !e.empty()) {
        json::array entries;
        entries.push_back(json::object{{"location", "body"}, {"name", "error"}, {"description", e}});
        return app_error_from_entries(r.diag, std::move(entries));
    }
    const auto* list = arr(*o, "updates");
    if (!list)
        return flash_failure(r);
    for (const auto& u : *list)
        if (const auto* uo = u.if_object())
            out.rows.push_back(bodhi1_update(*uo));
    set_paging(out, number, rows, num(*o, "num_items"));
    return {};
}

// "MM/DD/YYYY" from "YYYY-MM-DD[ HH:MM:SS]", as the Bodhi 1 CLI sent expirations.
std::optional<std::string> bodhi1_date(std::string_view d)
{
    if (d.size() < 10 || d[4] != '-' || d[7] != '-')
        return std::nullopt;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (d[i] < '0' || d[i] > '9')
            return std::nullopt;
    return std::string(d.substr(5, 2)) + "/" + std::string(d.substr(8, 2)) + "/" + std::string(d.substr(0, 4));
}

} // namespace

// ---- updates ------------------------------------------------------------------------------

operation_request build(const ops::query_updates& op, const auth_params&)
{
    const auto& q = op.query;
    if (q.critpath)
        return operation_request::not_supported("the critpath filter of an update query (use critpath_updates)", self);
    if (!q.like.empty())
        return operation_request::not_supported("the `like` filter", self);
    auto r = post("list");
    if (!valid_paging(q.page, q.rows_per_page, r))
        return r;
    for (const auto& p : q.packages)
        r.form.add("package", p);
    for (const auto& b : q.builds)
        r.form.add("package", b);
    if (!q.release.empty())
        r.form.add("release", q.release);
    if (!q.status.empty())
        r.form.add("status", q.status);
    if (!q.type.empty())
        r.form.add("type_", q.type);
    if (!q.request.empty())
        r.form.add("request", q.request);
    if (!q.bugs.empty())
        r.form.add("bugs", joined_ids(q.bugs));
    if (!q.user.empty())
        r.form.add("username", q.user);
    if (q.mine) {
        r.form.add("mine", "True");
        r.needs_auth = true;
    }
    r.form.add("updates_tgp_limit", std::to_string(q.rows_per_page));
    r.form.add("updates_tgp_no", std::to_string(q.page));
    return r;
}

error_code parse(const ops::query_updates& op, raw_reply& r, page<update>& out)
{
    return read_update_page(r, out, op.query.page, op.query.rows_per_page);
}

// There is no single-update JSON page: `list` with the key as `package` (title or update
// ID), keeping only an exact match (a package name matches many updates, none exactly).
operation_request build(const ops::get_update& op, const auth_params&)
{
    if (op.key.empty())
        return operation_request::refuse(errc::invalid_argument, "an update key is required");
    auto r = post("list");
    r.form.add("package", to_bodhi1_key(op.key));
    r.form.add("updates_tgp_limit", "1");
    return r;
}

error_code parse(const ops::get_update& op, raw_reply& r, update& out)
{
    page<update> p;
    if (auto ec = read_update_page(r, p, 1, 1))
        return ec;
    const std::string key = to_bodhi1_key(op.key);
    for (auto& u : p.rows) {
        if (u.title == key || (!u.alias.empty() && u.alias == key)) {
            out = std::move(u);
            return {};
        }
    }
    json::array entries;
    entries.push_back(json::object{{"location", "url"}, {"name", "id"}, {"description", "Invalid update id"}});
    r.diag.http_status = 404;
    return app_error_from_entries(r.diag, std::move(entries));
}

operation_request build(const ops::save_update& op, const auth_params&)
{
    const auto& f = op.fields;
    if (!f.severity.empty())
        return operation_request::not_supported("the update severity", self);
    if (f.require_bugs || f.require_testcases || !f.requirements.empty())
        return operation_request::not_supported("update test requirements (require_bugs, require_testcases, requirements)", self);
    if (f.suggest != "unspecified" && f.suggest != "reboot" && !f.suggest.empty())
        return operation_request::not_supported("suggest=" + f.suggest, self);
    if (f.builds.empty())
        return operation_request::refuse(errc::invalid_argument, "an update needs at least one build");
    auto r = write("save");
    r.form.add("builds", joined(f.builds, ','));
    r.form.add("type_", f.type);
    r.form.add("bugs", joined_ids(f.bugs));
    r.form.add("notes", f.notes);
    r.form.add("request", f.request);
    r.form.add("close_bugs", tg_bool(f.close_bugs));
    r.form.add("suggest_reboot", tg_bool(f.suggest == "reboot"));
    r.form.add("inheritance", "False");
    r.form.add("autokarma", tg_bool(f.autokarma));
    r.form.add("stable_karma", std::to_string(f.stable_karma));
    r.form.add("unstable_karma", std::to_string(f.unstable_karma));
    r.form.add("edited", to_bodhi1_key(f.edited));
    return r;
}

error_code parse(const ops::save_update&, raw_reply& r, save_result& out)
{
    const auto* o = r.body.if_object();
    const auto* list = o ? arr(*o, "updates") : nullptr;
    if (!list)
        return flash_failure(r);
    for (const auto& u : *list)
        if (const auto* uo = u.if_object())
            out.updates.push_back(bodhi1_update(*uo));
    out.message = flash_of(r);
    return {};
}

operation_request build(const ops::request_update& op, const auth_params&)
{
    if (op.key.empty() || op.action.empty())
        return operation_request::refuse(errc::invalid_argument, "an update key and an action are required");
    auto r = write("request");
    r.form.add("update", to_bodhi1_key(op.key));
    r.form.add("action", op.action);
    return r;
}

// Rule failures come back with the update too: success is told by Bodhi 1's own wording.
error_code parse(const ops::request_update&, raw_reply& r, request_result& out)
{
    const auto* o = r.body.if_object();
    const auto* u = o ? obj(*o, "update") : nullptr;
    const std::string flash = flash_of(r);
    static constexpr std::string_view success[] = {" has been submitted for ", " has been unpushed",
                                                   " has been revoked", " has been obsoleted",
                                                   " has already been submitted for "};
    bool ok = false;
    for (auto s : success)
        ok = ok || flash.find(s) != std::string::npos;
    if (!u || !ok)
        return flash_failure(r);
    out.update = bodhi1_update(*u);
    out.message = flash;
    // "... submitted for testing. <why not stable>." is Bodhi 2's caveat.
    if (auto dot = flash.find(". "); dot != std::string::npos && dot + 2 < flash.size())
        out.caveats.push_back({"request", flash.substr(dot + 2)});
    return {};
}

operation_request build(const ops::comment& op, const auth_params&)
{
    const auto& f = op.fields;
    if (f.karma_critpath)
        return operation_request::not_supported("critical path karma", self);
    if (!f.bug_feedback.empty() || !f.testcase_feedback.empty())
        return operation_request::not_supported("bug and test case feedback", self);
    if (!f.anonymous_email.empty())
        return operation_request::not_supported("anonymous comments", self);
    if (f.update.empty())
        return operation_request::refuse(errc::invalid_argument, "the update's key is required");
    auto r = write("comment");
    r.form.add("title", to_bodhi1_key(f.update));
    r.form.add("text", f.text);
    r.form.add("karma", std::to_string(f.karma));
    if (f.notify_by_email)
        r.form.add("email", tg_bool(*f.notify_by_email));
    return r;
}

error_code parse(const ops::comment& op, raw_reply& r, comment_result& out)
{
    const auto* o = r.body.if_object();
    const auto* u = o ? obj(*o, "update") : nullptr;
    if (!u)
        return flash_failure(r);
    out.update = bodhi1_update(*u);
    out.message = flash_of(r);
    out.caveats = flash_caveat(out.message);
    // Bodhi 1 answers with the update: the new comment is the newest with this text (karma
    // rules may have stored the vote differently).
    for (auto it = out.update.comments.rbegin(); it != out.update.comments.rend(); ++it) {
        if (it->text == op.fields.text && it->author != "bodhi") {
            out.comment = *it;
            return {};
        }
    }
    if (!out.update.comments.empty())
        out.comment = out.update.comments.back();
    return {};
}

operation_request build(const ops::delete_update& op, const auth_params&)
{
    if (op.key.empty())
        return operation_request::refuse(errc::invalid_argument, "an update key is required");
    auto r = write("delete");
    r.form.add("update", to_bodhi1_key(op.key));
    return r;
}

error_code parse(const ops::delete_update&, raw_reply& r, std::string& out)
{
    std::string flash = flash_of(r);
    if (flash.rfind("Deleted ", 0) != 0)
        return flash_failure(r);
    out = std::move(flash);
    return {};
}

// ---- releases, builds, tags ----------------------------------------------------------------

operation_request build(const ops::releases&, const auth_params&) { return post("releases"); }

error_code parse(const ops::releases&, raw_reply& r, std::vector<release>& out)
{
    const auto* o = r.body.if_object();
    const auto* list = o ? arr(*o, "releases") : nullptr;
    if (!list)
        return flash_failure(r);
    for (const auto& x : *list)
        if (const auto* xo = x.if_object())
            out.push_back(bodhi1_release(*xo));
    return {};
}

operation_request build(const ops::latest_builds& op, const auth_params&)
{
    if (op.package.empty())
        return operation_request::refuse(errc::invalid_argument, "a package name is required");
    auto r = post("latest_builds");
    r.form.add("package", op.package);
    return r;
}

error_code parse(const ops::latest_builds&, raw_reply& r, std::vector<std::pair<std::string, std::string>>& out)
{
    const auto* o = r.body.if_object();
    if (!o)
        return wrong_shape(r, "latest_builds answer is not an object");
    for (const auto& [k, v] : *o)
        if (k != "tg_flash" && v.is_string())
            out.emplace_back(std::string(k), std::string(v.get_string()));
    return {};
}

operation_request build(const ops::candidate_tags&, const auth_params&) { return post("candidate_tags"); }

error_code parse(const ops::candidate_tags&, raw_reply& r, std::vector<std::string>& out)
{
    const auto* o = r.body.if_object();
    const auto* list = o ? arr(*o, "tags") : nullptr;
    if (!list)
        return flash_failure(r);
    for (const auto& t : *list)
        if (t.is_string())
            out.emplace_back(t.get_string());
    return {};
}

operation_request build(const ops::critpath_updates& op, const auth_params&)
{
    if (!op.status.empty())
        return operation_request::not_supported("a status filter on critical path updates", self);
    auto r = post("critpath");
    if (!valid_paging(op.page, op.rows_per_page, r))
        return r;
    if (op.untested)
        r.form.add("untested", "True");
    if (!op.release.empty())
        r.form.add("release", op.release);
    r.form.add("updates_tgp_limit", std::to_string(op.rows_per_page));
    r.form.add("updates_tgp_no", std::to_string(op.page));
    return r;
}

error_code parse(const ops::critpath_updates& op, raw_reply& r, page<update>& out)
{
    return read_update_page(r, out, op.page, op.rows_per_page);
}

// ---- overrides ----------------------------------------------------------------------------

operation_request build(const ops::save_override& op, const auth_params&)
{
    const auto& f = op.fields;
    if (f.nvrs.empty())
        return operation_request::refuse(errc::invalid_argument, "an override needs at least one NVR");
    auto r = write("override/save");
    r.form.add("builds", joined(f.nvrs, ' '));
    r.form.add("notes", f.notes);
    if (!f.expiration_date.empty()) {
        auto d = bodhi1_date(f.expiration_date);
        if (!d)
            return operation_request::refuse(errc::invalid_argument, "expiration_date must be YYYY-MM-DD[ HH:MM:SS]");
        r.form.add("expiration", *d);
    }
    return r;
}

error_code parse(const ops::save_override&, raw_reply& r, override_result& out)
{
    const auto* o = r.body.if_object();
    if (!o || str(*o, "build").empty())
        return flash_failure(r);
    out.overrides.push_back(bodhi1_override(*o));
    out.message = flash_of(r);
    return {};
}

operation_request build(const ops::query_overrides& op, const auth_params& auth)
{
    const auto& q = op.query;
    bool mine = q.mine || (!q.user.empty() && q.user == auth.who());
    if (!q.user.empty() && !mine)
        return operation_request::not_supported("listing another user's overrides", self);
    if (q.expired == true)
        return operation_request::not_supported("listing only expired overrides", self);
    auto r = post("override/list");
    if (!valid_paging(q.page, q.rows_per_page, r))
        return r;
    r.needs_auth = true;  // Bodhi 1 lists overrides to logged-in users only
    if (mine)
        r.form.add("mine", "True");
    if (!q.release.empty())
        r.form.add("release", q.release);
    if (!q.build.empty())
        r.form.add("build", q.build);
    r.form.add("show_expired", tg_bool(!q.expired.has_value()));
    r.form.add("overrides_tgp_limit", std::to_string(q.rows_per_page));
    r.form.add("overrides_tgp_no", std::to_string(q.page));
    return r;
}

error_code parse(const ops::query_overrides& op, raw_reply& r, page<override_record>& out)
{
    const auto* o = r.body.if_object();
    const auto* list = o ? arr(*o, "overrides") : nullptr;
    if (!list)
        return flash_failure(r);
    for (const auto& x : *list)
        if (const auto* xo = x.if_object())
            out.rows.push_back(bodhi1_override(*xo));
    set_paging(out, op.query.page, op.query.rows_per_page, num(*o, "num_items"));
    return {};
}

// override/list filtered by build, expired ones included (login needed, as for the list).
operation_request build(const ops::get_override& op, const auth_params&)
{
    if (op.nvr.empty())
        return operation_request::refuse(errc::invalid_argument, "an NVR is required");
    auto r = post("override/list");
    r.needs_auth = true;
    r.form.add("build", op.nvr);
    r.form.add("show_expired", "True");
    r.form.add("overrides_tgp_limit", "0");
    return r;
}

error_code parse(const ops::get_override& op, raw_reply& r, override_record& out)
{
    const auto* o = r.body.if_object();
    const auto* list = o ? arr(*o, "overrides") : nullptr;
    if (!list)
        return flash_failure(r);
    for (const auto& x : *list) {
        if (const auto* xo = x.if_object(); xo && str(*xo, "build") == op.nvr) {
            out = bodhi1_override(*xo);
            return {};
        }
    }
    json::array entries;
    entries.push_back(json::object{{"location", "url"}, {"name", "nvr"}, {"description", "No buildroot override for this build"}});
    r.diag.http_status = 404;
    return app_error_from_entries(r.diag, std::move(entries));
}

operation_request build(const ops::expire_override& op, const auth_params&)
{
    if (op.nvr.empty())
        return operation_request::refuse(errc::invalid_argument, "an NVR is required");
    auto r = write("override/expire");
    r.form.add("build", op.nvr);
    return r;
}

error_code parse(const ops::expire_override&, raw_reply& r, std::string& out)
{
    std::string flash = flash_of(r);
    if (flash.find("untagged") == std::string::npos)
        return flash_failure(r);
    out = std::move(flash);
    return {};
}

// ---- Bodhi 2 only -------------------------------------------------------------------------

operation_request build(const ops::query_packages&, const auth_params&)
{
    return operation_request::not_supported("listing packages", self);
}
error_code parse(const ops::query_packages&, raw_reply&, page<package>&) { return make_error_code(errc::not_supported); }

operation_request build(const ops::query_comments&, const auth_params&)
{
    return operation_request::not_supported("listing comments", self);
}
error_code parse(const ops::query_comments&, raw_reply&, page<bodhi::comment>&)
{
    return make_error_code(errc::not_supported);
}

// ---- sessions -----------------------------------------------------------------------------

operation_request build(const ops::login&, const auth_params& auth)
{
    if (!auth.has_credentials())
        return operation_request::refuse(errc::auth_error, "login needs a username and a password");
    auto r = write("login");
    return r;
}

error_code parse(const ops::login&, raw_reply& r, login_info& out)
{
    const auto* o = r.body.if_object();
    const auto* user = o ? obj(*o, "user") : nullptr;
    if (!user)
        return wrong_shape(r, "login answer without `user`");
    out.user = *user;
    out.username = str(*user, "username");
    if (!out.username.empty())
        r.session.username = out.username;
    return {};
}

operation_request build(const ops::logout&, const auth_params&) { return write("logout"); }

error_code parse(const ops::logout&, raw_reply& r, none&)
{
    r.session.username.clear();
    return {};
}

} // namespace fedora::bodhi::v1
