// `fedora bodhi ...`: each command is one bodhi::client call, the same on Bodhi 1 and 2.
#include "runtime.hpp"
#include "to_json.hpp"

namespace fedora::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

int page_of(const invocation& inv)
{
    return static_cast<int>(inv.get_int("page", 1, 1, 1'000'000));
}
int rows_of(const invocation& inv)
{
    return static_cast<int>(inv.get_int("rows", 20, 1, 100));
}

std::vector<std::int64_t> bug_ids(const invocation& inv)
{
    std::vector<std::int64_t> out;
    for (const auto& b : inv.list("bug"))
        out.push_back(parse_int("--bug", b, 1, std::numeric_limits<std::int64_t>::max()));
    return out;
}

int karma_arg(const invocation& inv, std::string_view option)
{
    return static_cast<int>(inv.get_int(option, 0, -1, 1));
}

} // namespace

asio::awaitable<json::value> run_bodhi(context& ctx)
{
    const auto& inv = ctx.inv;
    const std::string_view name = inv.command->name;
    const auto& a = inv.args;
    bodhi::client client(ctx.transport, ctx.bodhi);
    auto auth = ctx.who.bodhi_auth();

    if (name == "version") {
        auto r = co_await client.async_detect();
        co_return json::object{{"version", static_cast<int>(r.value)},
                               {"name", std::string(bodhi::to_string(r.value))},
                               {"url", ctx.bodhi.base_url}};
    }
    if (name == "login") {
        auto r = co_await client.async_login(ctx.who.username, ctx.who.password);
        co_return json::value(session_to_text(r.session));
    }
    if (name == "logout") {
        co_await client.async_logout(auth.session);
        co_return json::value("logged out");
    }
    if (name == "updates") {
        bodhi::update_query q;
        q.packages = inv.list("package");
        q.builds = inv.list("build");
        q.release = inv.get("release");
        q.status = inv.get("status");
        q.type = inv.get("type");
        q.request = inv.get("request");
        q.bugs = bug_ids(inv);
        q.user = inv.get("submitter");
        q.mine = inv.has("mine");
        if (inv.has("critpath"))
            q.critpath = true;
        q.like = inv.get("like");
        q.page = page_of(inv);
        q.rows_per_page = rows_of(inv);
        if (inv.has("all")) {
            auto r = co_await client.async_query_all_updates(std::move(q), std::move(auth));
            co_return to_json(r.value);
        }
        auto r = co_await client.async_query_updates(std::move(q), std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "update") {
        auto r = co_await client.async_get_update(a[0], std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "save") {
        bodhi::update_fields f;
        f.builds = inv.list("build");
        if (f.builds.empty())
            throw usage_error("'fedora bodhi save' needs at least one --build NVR");
        f.type = inv.get("type", "bugfix");
        f.bugs = bug_ids(inv);
        f.notes = inv.get("notes");
        f.request = inv.get("request", "testing");
        if (f.request == "none")
            f.request.clear();
        f.severity = inv.get("severity");
        f.suggest = inv.get("suggest", "unspecified");
        f.stable_karma = static_cast<int>(inv.get_int("stable-karma", 3, -100, 100));
        f.unstable_karma = static_cast<int>(inv.get_int("unstable-karma", -3, -100, 100));
        f.autokarma = !inv.has("no-autokarma");
        f.close_bugs = !inv.has("no-close-bugs");
        f.edited = inv.get("edit");
        auto r = co_await client.async_save_update(std::move(f), std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "request") {
        auto r = co_await client.async_request(a[0], a[1], std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "comment") {
        bodhi::comment_fields f;
        f.update = a[0];
        f.text = a[1];
        f.karma = karma_arg(inv, "karma");
        if (inv.has("critpath-karma"))
            f.karma_critpath = karma_arg(inv, "critpath-karma");
        f.anonymous_email = inv.get("anonymous-email");
        if (!f.anonymous_email.empty())
            auth = bodhi::auth_params::anonymous();
        auto r = co_await client.async_comment(std::move(f), std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "delete") {
        auto r = co_await client.async_delete_update(a[0], std::move(auth));
        co_return json::value(std::move(r.value));
    }
    if (name == "releases") {
        auto r = co_await client.async_releases(std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "latest-builds") {
        auto r = co_await client.async_latest_builds(a[0], std::move(auth));
        json::array rows;
        for (const auto& [tag, nvr] : r.value)
            rows.push_back(json::object{{"tag", tag}, {"nvr", nvr}});
        co_return rows;
    }
    if (name == "candidate-tags") {
        auto r = co_await client.async_candidate_tags(std::move(auth));
        json::array rows;
        for (const auto& t : r.value)
            rows.push_back(json::string(t));
        co_return rows;
    }
    if (name == "critpath") {
        auto r = co_await client.async_critpath_updates(inv.get("release"), inv.has("untested"), std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "override-save") {
        bodhi::override_fields f;
        f.nvrs = a;
        f.notes = inv.get("notes");
        f.expiration_date = inv.get("expiration");
        if (f.expiration_date.empty())
            throw usage_error("'fedora bodhi override-save' needs --expiration DATE");
        if (f.expiration_date.size() == 10)
            f.expiration_date += " 00:00:00";
        auto r = co_await client.async_save_override(std::move(f), std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "override-expire") {
        auto r = co_await client.async_expire_override(a[0], std::move(auth));
        co_return json::value(r.value.empty() ? std::string("expired") : std::move(r.value));
    }
    if (name == "overrides") {
        bodhi::override_query q;
        q.mine = inv.has("mine");
        q.user = inv.get("user");
        q.release = inv.get("release");
        q.build = inv.get("build");
        if (inv.has("active") && inv.has("expired"))
            throw usage_error("--active and --expired exclude each other");
        if (inv.has("active"))
            q.expired = false;
        else if (inv.has("expired"))
            q.expired = true;
        q.page = page_of(inv);
        q.rows_per_page = rows_of(inv);
        auto r = co_await client.async_query_overrides(std::move(q), std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "override") {
        auto r = co_await client.async_get_override(a[0], std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "packages") {
        bodhi::package_query q;
        q.name = inv.get("name");
        q.like = inv.get("like");
        q.page = page_of(inv);
        q.rows_per_page = rows_of(inv);
        auto r = co_await client.async_query_packages(std::move(q), std::move(auth));
        co_return to_json(r.value);
    }
    if (name == "comments") {
        bodhi::comment_query q;
        q.updates = inv.list("update");
        q.packages = inv.list("package");
        q.user = inv.get("user");
        q.like = inv.get("like");
        q.page = page_of(inv);
        q.rows_per_page = rows_of(inv);
        auto r = co_await client.async_query_comments(std::move(q), std::move(auth));
        co_return to_json(r.value);
    }
    throw usage_error("'fedora bodhi " + std::string(name) + "' is not implemented");
}

} // namespace fedora::cli
