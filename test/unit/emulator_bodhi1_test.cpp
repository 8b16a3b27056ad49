// The Bodhi 1 (TurboGears) application, called through handle() directly.
#include "emulator_bodhi_support.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace bodhi_test;

namespace {

const std::vector<std::pair<http::field, std::string>> json_accept{{http::field::accept, "application/json"}};

struct bodhi1_site
{
    std::shared_ptr<bodhi_data> data;
    std::shared_ptr<bodhi1_application> bodhi;
    browser br;

    explicit bodhi1_site(std::size_t bulk = 0) : data(make_data(60, bulk)), bodhi(std::make_shared<bodhi1_application>(data))
    {
        br.mount("/updates", bodhi);
    }

    // A python-fedora style call: POST, Accept JSON, form body.
    http_response call(const std::string& method, fields f = {})
    {
        return br.post("/updates/" + method, f, json_accept);
    }
    // Authenticated by session: the cookie plus _csrf_token.
    http_response call_session(const std::string& method, fields f = {})
    {
        f.emplace_back("_csrf_token", sha1hex(br.jar.at("tg-visit")));
        return call(method, f);
    }
    // Authenticated by credentials piggybacked on the call.
    http_response call_login(const std::string& method, fields f, const std::string& user)
    {
        f.emplace_back("user_name", user);
        f.emplace_back("password", user + "-pass");
        f.emplace_back("login", "Login");
        return call(method, f);
    }
};

std::string flash(const http_response& r)
{
    auto v = body_json(r);
    return v.is_object() && v.at("tg_flash").is_string() ? std::string(v.at("tg_flash").as_string()) : std::string();
}

} // namespace

TEST_CASE("bodhi1: api_version is not a JSON route (detection sees Bodhi 1)")
{
    bodhi1_site site;
    for (auto accept : {"application/json", "*/*", "text/html"}) {
        auto r = site.br.get("/updates/api_version", {{http::field::accept, accept}});
        CHECK(r.result() == http::status::ok);
        CHECK(header(r, http::field::content_type).rfind("text/html", 0) == 0);
        CHECK(body_json(r).is_null());
    }
    CHECK(site.br.get("/updates/no/such/route").result() == http::status::not_found);
}

TEST_CASE("bodhi1: JSON selection, tg_flash and the visit cookie")
{
    bodhi1_site site;
    auto r = site.call("releases");
    REQUIRE(r.result() == http::status::ok);
    CHECK(header(r, http::field::content_type) == "text/javascript; charset=utf-8");
    auto v = body_json(r);
    CHECK(v.at("tg_flash").is_null());
    CHECK(v.at("releases").as_array().size() == 5);
    bool el7 = false;
    for (const auto& rel : v.at("releases").as_array()) {
        CHECK(rel.as_object().size() == 5);
        el7 = el7 || rel.at("name") == "EL-7";
    }
    CHECK(el7);
    std::string visit = site.br.jar.at("tg-visit");
    CHECK(visit.size() == 40);
    // the same live visit comes back
    site.call("releases/");
    CHECK(site.br.jar.at("tg-visit") == visit);

    // tg_format=json works without Accept; without either it is HTML
    CHECK(body_json(site.br.get("/updates/releases?tg_format=json")).is_object());
    r = site.br.get("/updates/releases");
    CHECK(header(r, http::field::content_type).rfind("text/html", 0) == 0);

    // unknown visit keys are replaced
    site.br.jar["tg-visit"] = "forged";
    site.call("releases");
    CHECK(site.br.jar.at("tg-visit") != "forged");

    site.bodhi->expire_visits();
    CHECK(site.bodhi->visit_count() == 0);
}

TEST_CASE("bodhi1: login, CSRF and identity failures")
{
    bodhi1_site site;
    auto r = site.call("login", {{"user_name", "alice"}, {"password", "bad"}, {"login", "Login"}});
    CHECK(r.result() == http::status::forbidden);
    auto v = body_json(r);
    CHECK(v.at("logging_in") == true);
    CHECK(v.at("message") == "The credentials you supplied were not correct or did not grant access to this resource.");
    CHECK(v.at("original_parameters").as_object().count("password") == 0);

    r = site.call("login");
    CHECK(r.result() == http::status::forbidden);
    CHECK(body_json(r).at("message") == "Please log in.");

    r = site.call("login", {{"user_name", "alice"}, {"password", "alice-pass"}, {"login", "Login"}});
    REQUIRE(r.result() == http::status::ok);
    v = body_json(r);
    CHECK(v.at("user").at("username") == "alice");
    CHECK(v.at("tg_flash") == "Welcome, alice");
    CHECK(v.at("_csrf_token").as_string() == sha1hex(site.br.jar.at("tg-visit")));

    // The session counts only with the token.
    fields update{{"builds", "foo-9.0-1.fc22"}, {"type_", "bugfix"}, {"notes", "Fix"}, {"request", "testing"}};
    r = site.call("save", update);
    CHECK(r.result() == http::status::forbidden);
    update.emplace_back("_csrf_token", "0000000000000000000000000000000000000000");
    CHECK(site.call("save", update).result() == http::status::forbidden);
    update.pop_back();
    r = site.call_session("save", update);
    REQUIRE(r.result() == http::status::ok);
    CHECK(body_json(r).at("updates").at(0).at("title") == "foo-9.0-1.fc22");

    // Wrong credentials with a live, token-bearing session: the session still counts.
    fields comment{{"title", "foo-9.0-1.fc22"}, {"text", "hi"}, {"user_name", "alice"}, {"password", "nope"},
                   {"login", "Login"}};
    CHECK(site.call_session("comment", comment).result() == http::status::ok);

    // HTTP Basic
    r = site.br.post("/updates/comment", {{"title", "foo-9.0-1.fc22"}, {"text", "basic"}},
                     {{http::field::accept, "application/json"}, {http::field::authorization, "Basic Ym9iOmJvYi1wYXNz"}});
    CHECK(r.result() == http::status::ok);

    r = site.call("logout");
    CHECK(flash(r) == "You have successfully logged out.");
    CHECK(site.call_session("save", update).result() == http::status::forbidden);
}

TEST_CASE("bodhi1: list, filters and pagination")
{
    bodhi1_site site(1001);
    auto r = site.call("list", {{"package", "bulk-pkg"}, {"release", "F22"}, {"updates_tgp_limit", "100"}});
    REQUIRE(r.result() == http::status::ok);
    auto v = body_json(r);
    CHECK(v.at("num_items") == 1001);
    CHECK(v.at("title") == "1001 updates found");
    CHECK(v.at("updates").as_array().size() == 100);
    std::set<std::string> seen;
    for (int page = 1; page <= 11; ++page) {
        v = body_json(site.call("list", {{"package", "bulk-pkg"}, {"updates_tgp_limit", "100"},
                                         {"updates_tgp_no", std::to_string(page)}}));
        for (const auto& u : v.at("updates").as_array())
            seen.insert(std::string(u.at("title").as_string()));
    }
    CHECK(seen.size() == 1001);
    v = body_json(site.call("list", {{"package", "bulk-pkg"}, {"updates_tgp_limit", "0"}}));
    CHECK(v.at("updates").as_array().size() == 1001); // 0 = all
    v = body_json(site.call("list", {{"package", "bulk-pkg"}}));
    CHECK(v.at("updates").as_array().size() == 25);    // server default
    v = body_json(site.call("list", {{"package", "bulk-pkg"}, {"count_only", "True"}}));
    CHECK(v.at("num_items") == 1001);
    CHECK(!v.as_object().contains("updates"));

    // Update shape
    auto first = body_json(site.call("list", {{"package", "bulk-pkg"}, {"updates_tgp_limit", "1"}}));
    const auto& u = first.at("updates").at(0);
    CHECK(u.at("builds").at(0).at("package").at("name") == "bulk-pkg");
    CHECK(u.at("release").at("name") == "F22");
    CHECK(u.at("status") == "testing");
    CHECK(u.at("updateid").is_string());
    CHECK(u.at("comments").at(0).at("author") == "bodhi");

    // package is overloaded: title, update ID, package name, build
    std::string title(u.at("title").as_string()), updateid(u.at("updateid").as_string());
    CHECK(body_json(site.call("list", {{"package", title}})).at("num_items") == 1);
    CHECK(body_json(site.call("list", {{"package", updateid}})).at("num_items") == 1);

    v = body_json(site.call("list", {{"release", "F99"}}));
    CHECK(v.at("error") == "Unknown release 'F99'");
    CHECK(v.at("num_items") == 0);
    v = body_json(site.call("list", {{"status", "stable"}, {"updates_tgp_limit", "0"}}));
    const auto& stable = v.at("updates").as_array();
    for (std::size_t i = 1; i < stable.size(); ++i)
        CHECK(stable[i - 1].at("date_pushed").as_string() >= stable[i].at("date_pushed").as_string());
    auto pending = body_json(site.call("list", {{"status", "pending"}, {"updates_tgp_limit", "0"}}));
    for (const auto& x : pending.at("updates").as_array())
        CHECK(x.at("status") == "pending");
    auto security = body_json(site.call("list", {{"type_", "security"}, {"username", "bob"}}));
    for (const auto& x : security.at("updates").as_array()) {
        CHECK(x.at("type") == "security");
        CHECK(x.at("submitter") == "bob");
    }
    CHECK(!flash(site.call("list", {{"updates_tgp_limit", "many"}})).empty());

    // mine needs identity: 401
    r = site.call("list", {{"mine", "True"}});
    CHECK(r.result() == http::status::unauthorized);
    r = site.call_login("list", {{"mine", "True"}, {"updates_tgp_limit", "0"}}, "alice");
    REQUIRE(r.result() == http::status::ok);
    auto mine = body_json(r);
    for (const auto& x : mine.at("updates").as_array())
        CHECK(x.at("submitter") == "alice");
    CHECK(body_json(site.br.get("/updates/user/alice?tg_format=json")).at("num_items").as_int64() > 1000);
}

TEST_CASE("bodhi1: save, request, comment, delete report rule failures in tg_flash with HTTP 200")
{
    bodhi1_site site;
    auto r = site.call_login("save", {{"builds", "foo-9.0-1.fc22,bar-9.0-1.fc22"}, {"type_", "fix"}, {"notes", "x"}},
                             "alice");
    CHECK(r.result() == http::status::ok);
    CHECK(flash(r) == "Unknown update type: fix.  Valid types are: ['bugfix', 'enhancement', 'newpackage', 'security']");
    CHECK(!body_json(r).as_object().contains("updates"));
    CHECK(flash(site.call_session("save", {{"builds", "foo-9.0-1.fc22"}, {"type_", "bugfix"}}))
          == "Error: You must supply notes for this update");

    r = site.call_session("save", {{"builds", "foo-9.0-1.fc22 bar-9.0-1.fc22"}, {"type_", "bugfix"}, {"notes", "Fix"},
                                   {"bugs", "123456"}, {"request", "testing"}, {"close_bugs", "True"},
                                   {"suggest_reboot", "False"}, {"inheritance", "False"}, {"autokarma", "False"},
                                   {"stable_karma", "3"}, {"unstable_karma", "-3"}, {"edited", ""}});
    REQUIRE(r.result() == http::status::ok);
    auto v = body_json(r);
    const auto& u = v.at("updates").at(0);
    CHECK(u.at("title") == "foo-9.0-1.fc22,bar-9.0-1.fc22");
    CHECK(u.at("updateid").is_null()); // not pushed yet
    CHECK(u.at("request") == "testing");
    CHECK(u.at("stable_karma") == 0); // autokarma off
    CHECK(u.at("bugs").at(0).at("bz_id") == 123456);
    CHECK(flash(r).rfind("Update successfully created.", 0) == 0);
    const std::string title = "foo-9.0-1.fc22,bar-9.0-1.fc22";

    // request: title only; rule failures keep the update in the answer
    r = site.call_session("request", {{"update", title}, {"action", "stable"}});
    CHECK(r.result() == http::status::ok);
    CHECK(flash(r).find("minimum testing requirements") != std::string::npos);
    site.data->push_requests();
    r = site.call_session("request", {{"update", title}, {"action", "stable"}});
    CHECK(body_json(r).at("update").at("request").is_null());
    CHECK(body_json(r).at("update").at("updateid").is_string());
    site.data->advance_clock(7 * 86400);
    r = site.call_session("request", {{"update", title}, {"action", "stable"}});
    CHECK(body_json(r).at("update").at("request") == "stable");
    CHECK(flash(site.call_session("request", {{"update", "nope-1-1.fc22"}, {"action", "stable"}})) == "Update nope-1-1.fc22 not found");
    CHECK(flash(site.call_session("request", {{"update", title}, {"action", "sideways"}})) == "Unknown request: sideways");

    // comment: by title or update ID
    r = site.call_session("comment", {{"title", title}, {"text", "own karma"}, {"karma", "1"}});
    CHECK(flash(r) == "You may not give karma to your own updates.");
    CHECK(body_json(r).at("update").at("karma") == 0);
    CHECK(flash(site.call_session("comment", {{"title", title}, {"karma", "5"}})) == "Karma must be one of (1, 0, -1), not 5");
    CHECK(flash(site.call_session("comment", {{"title", "nope"}, {"text", "x"}})) == "Update nope does not exist");

    // another user votes
    site.br.jar.clear();
    r = site.call_login("comment", {{"title", title}, {"text", "works"}, {"karma", "1"}, {"email", "False"}}, "bob");
    REQUIRE(r.result() == http::status::ok);
    CHECK(body_json(r).at("update").at("karma") == 1);
    site.br.jar.clear();
    CHECK(flash(site.call_login("request", {{"update", title}, {"action", "revoke"}}, "carol"))
          == "carol does not have commit access to foo");

    // delete: pushed / not yours / fine
    site.br.jar.clear();
    CHECK(flash(site.call_login("delete", {{"update", title}}, "alice")) == "Cannot delete a pushed update");
    site.br.jar.clear();
    site.call_login("save", {{"builds", "foo-10.0-1.fc22"}, {"type_", "bugfix"}, {"notes", "Later"}}, "alice");
    site.br.jar.clear();
    CHECK(flash(site.call_login("delete", {{"update", "foo-10.0-1.fc22"}}, "carol")) == "Cannot delete an update you did not submit");
    CHECK(flash(site.call_login("delete", {{"update", "foo-10.0-1.fc22"}}, "alice")) == "Deleted foo-10.0-1.fc22");
    // protected methods while anonymous
    site.br.jar.clear();
    for (const char* method : {"save", "request", "comment", "delete", "mine", "override/list", "override/save",
                               "override/expire"})
        CHECK_MESSAGE(site.call(method).result() == http::status::forbidden, method);
}

TEST_CASE("bodhi1: candidate tags, latest builds, critpath, builds to updates")
{
    bodhi1_site site;
    auto v = body_json(site.call("candidate_tags"));
    std::set<std::string> tags;
    for (const auto& t : v.at("tags").as_array())
        tags.insert(std::string(t.as_string()));
    CHECK(tags.count("f22-updates-candidate"));
    CHECK(tags.count("epel7-testing-candidate"));
    CHECK(!tags.count("f23-updates-candidate")); // pending release
    v = body_json(site.call("latest_builds", {{"package", "kernel"}}));
    CHECK(v.at("tg_flash").is_null());
    CHECK(v.as_object().size() > 1);
    v = body_json(site.call("critpath", {{"untested", "True"}}));
    for (const auto& u : v.at("updates").as_array()) {
        CHECK(u.at("critpath") == true);
        CHECK(u.at("critpath_approved") == false);
    }
    std::string nvr = site.data->read([](const bodhi_state& s) { return s.build(s.updates()[0].builds[0])->nvr; });
    v = body_json(site.call("get_updates_from_builds", {{"builds", nvr + " nope-1-1.fc22"}}));
    CHECK(v.at(nvr).at("title").as_string() == nvr);
    CHECK(!v.as_object().contains("nope-1-1.fc22"));
    CHECK(body_json(site.call("dist_tags")).at("tags").as_array().size() == 5);
}

TEST_CASE("bodhi1: buildroot overrides")
{
    bodhi1_site site;
    auto r = site.call_login("override/save", {{"builds", "foo-7.0-1.fc22"}, {"notes", "needed for bar"},
                                               {"expiration", "09/20/2015"}}, "alice");
    REQUIRE(r.result() == http::status::ok);
    auto v = body_json(r);
    CHECK(v.at("build") == "foo-7.0-1.fc22");
    CHECK(v.at("expiration") == "2015-09-20 00:00:00");
    CHECK(flash(r).find("koji wait-repo f22-build --build=foo-7.0-1.fc22") != std::string::npos);
    CHECK(flash(site.call_session("override/save", {{"builds", "foo-7.0-1.fc22"}, {"notes", "again"},
                                                    {"expiration", "09/20/2015"}}))
          == "Buildroot override for foo-7.0-1.fc22 already exists");
    CHECK(flash(site.call_session("override/save", {{"builds", "foo-7.1-1.fc22"}, {"expiration", "01/01/2015"}}))
          == "Expiration date in the past");

    auto listed = [&](fields f) {
        auto list = body_json(site.call_session("override/list", f));
        CHECK(list.at("title").as_string().find(" submitted by alice") != std::string::npos);
        for (const auto& o : list.at("overrides").as_array())
            if (o.at("build") == "foo-7.0-1.fc22")
                return true;
        return false;
    };
    CHECK(listed({{"mine", "True"}, {"overrides_tgp_limit", "0"}}));
    r = site.call_session("override/save_edit_cli", {{"builds", "foo-7.0-1.fc22"}, {"notes", "edited"},
                                                     {"expiration", "09/21/2015"}});
    CHECK(body_json(r).at("notes") == "edited");
    CHECK(flash(site.call_session("override/expire", {{"build", "foo-7.0-1.fc22"}}))
          == "Buildroot override for foo-7.0-1.fc22 successful untagged");
    CHECK(!listed({{"mine", "True"}, {"overrides_tgp_limit", "0"}}));
    CHECK(listed({{"mine", "True"}, {"show_expired", "True"}, {"overrides_tgp_limit", "0"}}));
}
