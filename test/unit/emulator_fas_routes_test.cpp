// FAS emulator: every route's success and failure answers, TG conventions, bad input.
#include "emulator_fas_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <set>

using namespace fas_test;

TEST_SUITE_BEGIN("emulator.fas");

namespace {

struct logged_in
{
    fas_env env;
    std::string jdoe = env.login("jdoe", "jdoe-pass");
    std::string admin = env.login("admin", "admin");
    std::string nocla = env.login("nocla", "nocla-pass");
    std::string sys = env.login("sysuser", "sysuser-pass");
    std::string sysadm = env.login("sysadm", "sysadm-pass");
};

bool contains_value(const json::array& a, const json::value& v)
{
    return std::find(a.begin(), a.end(), v) != a.end();
}

} // namespace

TEST_CASE("conventions: tg_flash everywhere, cookies everywhere, JSON negotiation")
{
    logged_in s;
    auto a = s.env.as(s.jdoe, "/json/user_id");
    CHECK(a.obj().at("tg_flash").is_null());
    CHECK_FALSE(a.obj().contains("tg_template"));

    // Accept decides; tg_format=json also works; */* and text/html get HTML.
    request_options o;
    o.visit = s.jdoe;
    o.accept = "text/html,application/json;q=0.9";
    auto html = s.env.send("/user/view", o);
    CHECK(html.header(http::field::content_type) == "text/html; charset=utf-8");
    o.accept = "text/html;q=0.5, application/json";
    CHECK(s.env.send("/user/view", o).header(http::field::content_type) == "application/json");
    o.accept = "text/javascript";
    CHECK(s.env.send("/user/view", o).header(http::field::content_type) == "application/json");
    o.accept = "*/*";
    o.query = "tg_format=json";
    CHECK(s.env.send("/user/view", o).header(http::field::content_type) == "application/json");
    o.query.clear();
    CHECK(s.env.send("/user/view", o).header(http::field::content_type) == "text/html; charset=utf-8");
    // /json/* is always JSON.
    CHECK(s.env.send("/json/user_id", o).header(http::field::content_type) == "application/json");

    // GET with a query string works like POST.
    request_options g;
    g.method = http::verb::get;
    g.visit = s.jdoe;
    g.csrf = false;
    g.query = "username=jdoe&_csrf_token=" + fas_csrf_token(s.jdoe);
    CHECK(s.env.send("/json/person_by_username", g).status() == 200);

    // Every answer carries the visit cookie, errors included.
    for (auto path : {"/", "/nope", "/json/person_by_id", "/home"}) {
        auto r = s.env.send(path, request_options{});
        CHECK_MESSAGE(r.visit().size() == 40, path);
    }
    // HTTP/1.0 keeps the version, keep-alive is mirrored.
    request_options v10;
    v10.version = 10;
    auto r10 = s.env.send("/", v10);
    CHECK(r10.res.version() == 10);
    CHECK(r10.header(http::field::content_length) == std::to_string(r10.body().size()));
}

TEST_CASE("root and home")
{
    logged_in s;
    auto anon = s.env.send("/", request_options{});
    CHECK(anon.obj().at("now") == "Fri May 18 11:30:51 2018");
    CHECK(s.env.send("/index", request_options{}).obj().contains("now"));
    auto in = s.env.as(s.jdoe, "/");
    CHECK(in.obj().size() == 1); // only tg_flash
    request_options html;
    html.visit = s.jdoe;
    html.accept = "text/html";
    auto r = s.env.send("/", html);
    CHECK(r.status() == 303);
    CHECK(r.header(http::field::location) == "http://127.0.0.1:8080/accounts/home?_csrf_token=" + fas_csrf_token(s.jdoe));

    auto home = s.env.as(s.nocla, "/home").obj();
    CHECK(home.at("cla") == false);
    CHECK(home.at("person").at("username") == "nocla");
    CHECK(home.at("memberships").as_array().size() == 1);
    CHECK(s.env.send("/home", request_options{}).status() == 403);
    // Strict parameters: an unknown one is a 500.
    CHECK(s.env.as(s.jdoe, "/home", "bogus=1").status() == 500);
    CHECK(s.env.as(s.jdoe, "/home/extra").status() == 500);
}

TEST_CASE("/user/view")
{
    logged_in s;
    auto self = s.env.as(s.jdoe, "/user/view").obj();
    CHECK(self.at("person").at("username") == "jdoe");
    CHECK(self.at("personal") == true);
    CHECK(self.at("admin") == false);
    CHECK(self.at("modo") == false);
    CHECK(self.at("cla") == true);
    CHECK(self.at("undeprecated") == true);
    CHECK(self.at("can_update") == false);
    CHECK(self.at("show").at("show_postal_address") == 0);
    CHECK(self.at("person").as_object().contains("approved_memberships"));

    auto other = s.env.as(s.admin, "/user/view/nocla").obj();
    CHECK(other.at("person").at("username") == "nocla");
    CHECK(other.at("personal") == false);
    CHECK(other.at("admin") == true);
    CHECK(other.at("cla") == false);
    CHECK(s.env.as(s.jdoe, "/user/view", "username=privuser").obj().at("person").at("human_name").is_null());

    auto modo = s.env.login("modo", "modo-pass");
    CHECK(s.env.as(modo, "/user/view").obj().at("modo") == true);

    // Unknown user: User.error is HTML, status 200, even for JSON clients.
    auto missing = s.env.as(s.jdoe, "/user/view/nosuchuser");
    CHECK(missing.status() == 200);
    CHECK(missing.header(http::field::content_type) == "text/html; charset=utf-8");
    CHECK(missing.body().find("&#39;nosuchuser&#39; does not exist.") != std::string::npos);
    // Path segments are percent-decoded once.
    auto z = s.env.as(s.jdoe, "/user/view/zlukasiewicz");
    CHECK(z.status() == 200);
    CHECK(s.env.as(s.jdoe, "/user/view/jd%6Fe").obj().at("person").at("username") == "jdoe");
    CHECK(s.env.as(s.jdoe, "/user/view/a%2Fb").status() == 200); // one segment "a/b": unknown
    CHECK(s.env.as(s.jdoe, "/user/view/a/b").status() == 500);  // two: too many arguments
}

TEST_CASE("/json/person_by_id and person_by_username")
{
    logged_in s;
    auto a = s.env.as(s.jdoe, "/json/person_by_id", "person_id=100001").obj();
    CHECK(a.at("success") == true);
    CHECK(a.at("person").at("username") == "admin");
    CHECK(a.at("person").at("password") == "*");
    CHECK(s.env.as(s.jdoe, "/json/person_by_id/100068").obj().at("person").at("username") == "jdoe");
    CHECK(s.env.as(s.jdoe, "/json/person_by_id", "person_id=+100068").obj().at("success") == true);

    auto miss = s.env.as(s.jdoe, "/json/person_by_id", "person_id=42");
    CHECK(miss.status() == 200);
    CHECK(miss.obj().at("success") == false);
    CHECK(miss.obj().at("tg_flash").is_null());
    CHECK(miss.obj().size() == 2);
    CHECK(s.env.as(s.jdoe, "/json/person_by_id", "person_id=abc").status() == 500);
    CHECK(s.env.as(s.jdoe, "/json/person_by_id").status() == 500);
    CHECK(s.env.as(s.jdoe, "/json/person_by_id", "person_id=1&person_id=2").status() == 500);
    CHECK(s.env.as(s.jdoe, "/json/person_by_id", "id=100001").status() == 500); // strict params

    CHECK(s.env.as(s.jdoe, "/json/person_by_username", "username=JDOE").obj().at("success") == false);
    CHECK(s.env.as(s.jdoe, "/json/person_by_username", "username=").obj().at("success") == false);
    // The 403 body for a guarded JSON route names where the caller was going.
    request_options anon;
    anon.body = "username=jdoe&_csrf_token=x";
    auto denied = s.env.send("/json/person_by_username", anon).obj();
    CHECK(denied.at("previous_url") == "/accounts/json/person_by_username");
    CHECK(denied.at("original_parameters").at("username") == "jdoe");
    CHECK(denied.at("original_parameters").at("_csrf_token") == "x");
}

TEST_CASE("/json/group_by_id and group_by_name")
{
    logged_in s;
    auto g = s.env.as(s.jdoe, "/json/group_by_name", "groupname=packager").obj();
    CHECK(g.at("success") == true);
    const auto& group = g.at("group").as_object();
    CHECK(group.at("id") == 100300);
    CHECK(group.at("group_type") == "pkgdb");
    CHECK(group.at("needs_sponsor") == true);
    CHECK(group.at("prerequisite_id") == 100002);
    CHECK(group.at("creation") == "2008-03-04 12:00:00+00:00");
    CHECK(group.size() == 19);
    bool saw_jdoe = false, saw_nocla = false;
    for (const auto& r : group.at("approved_roles").as_array())
        if (r.at("person_id") == 100068) saw_jdoe = r.at("role_type") == "sponsor";
    for (const auto& r : group.at("unapproved_roles").as_array())
        if (r.at("person_id") == 100070) saw_nocla = r.at("approval").is_null();
    CHECK(saw_jdoe);
    CHECK(saw_nocla);

    auto by_id = s.env.as(s.jdoe, "/json/group_by_id", "group_id=100010").obj(); // fas-system
    CHECK(by_id.at("group").at("name") == "fas-system"); // no can_view_group check
    CHECK(s.env.as(s.jdoe, "/json/group_by_id", "group_id=1").obj().at("success") == false);
    CHECK(s.env.as(s.jdoe, "/json/group_by_name", "groupname=nope").obj().at("success") == false);
    CHECK(s.env.as(s.jdoe, "/json/group_by_id", "group_id=x").status() == 500);
}

TEST_CASE("/json/user_id, /json (index)")
{
    logged_in s;
    auto u = s.env.as(s.jdoe, "/json/user_id").obj();
    const auto& people = u.at("people").as_object();
    CHECK(people.at("100001") == "admin");
    CHECK(people.at("100077") == "inactive"); // every status
    CHECK(people.size() == s.env.dir->people_count());
    CHECK(s.env.as(s.jdoe, "/json").obj().at("help") == "This is a JSON interface.");
    CHECK(s.env.as(s.jdoe, "/json/index").obj().at("help") == "This is a JSON interface.");
    CHECK(s.env.as(s.jdoe, "/json/people_by_key").status() == 404);
    CHECK(s.env.as(s.jdoe, "/json/nonexistent/x").status() == 404);
}

TEST_CASE("/json/people_query")
{
    logged_in s;
    auto a = s.env.as(s.jdoe, "/json/people_query", "username=jdo%25&columns=").obj();
    CHECK(a.at("success") == true);
    const auto& rows = a.at("data").as_array();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].as_object().size() == 5);
    CHECK(rows[0].at("id") == 100068);
    CHECK(rows[0].at("email") == "jdoe@example.org");
    CHECK(rows[0].at("ircnick") == "jdoe");
    CHECK(rows[0].at("status") == "active");

    // Join through roles and groups.
    auto j = s.env.as(s.jdoe, "/json/people_query",
                      form({{"columns", "username,group,role_type"}, {"group", "packager"},
                            {"role_status", "approved"}})).obj();
    std::set<std::string> names;
    for (const auto& r : j.at("data").as_array()) {
        CHECK(r.at("group") == "packager");
        names.insert(std::string(r.at("username").as_string()));
    }
    CHECK(names.count("jdoe") == 1);
    CHECK(names.count("privuser") == 1);
    CHECK(names.count("nocla") == 0); // unapproved

    // LIKE: '_' is one character, case-sensitive, no '*' translation.
    CHECK(s.env.as(s.jdoe, "/json/people_query", "username=jdo_&columns=username").obj().at("data").as_array().size() == 1);
    CHECK(s.env.as(s.jdoe, "/json/people_query", "username=JDOE&columns=username").obj().at("data").as_array().empty());
    CHECK(s.env.as(s.jdoe, "/json/people_query", "username=jdo*&columns=username").obj().at("data").as_array().empty());

    // '\' escapes a wildcard.
    CHECK(s.env.as(s.jdoe, "/json/people_query", "username=j%25e&columns=username").obj().at("data").as_array().size() == 1);
    CHECK(s.env.as(s.jdoe, "/json/people_query", "username=jdo%5C_&columns=username").obj().at("data").as_array().empty());
    CHECK(s.env.as(s.jdoe, "/json/people_query", "username=%5Cj%25&columns=username").obj().at("data").as_array().size() >= 1);

    auto bad_col = s.env.as(s.jdoe, "/json/people_query", "columns=password").obj();
    CHECK(bad_col.at("success") == false);
    CHECK(bad_col.at("error") == "Invalid column requested.");
    CHECK(bad_col.at("data").as_object().empty());
    auto bad_con = s.env.as(s.jdoe, "/json/people_query", "human_name=x&columns=").obj();
    CHECK(bad_con.at("error") == "Invalid constraint specified.");
    CHECK(s.env.as(s.jdoe, "/json/people_query", "id=1%25").status() == 500);

    // A group column without a join constraint is a cross product with every group.
    auto cross = s.env.as(s.jdoe, "/json/people_query", "username=jdoe&columns=username,group").obj();
    CHECK(cross.at("data").as_array().size() == s.env.dir->group_count());
    fas_app_params tight;
    tight.max_query_rows = 10;
    fas_env small(tight);
    auto v = small.login("jdoe", "jdoe-pass");
    CHECK(small.as(v, "/json/people_query", "columns=username,group").status() == 500);
}

TEST_CASE("/json/fas_client/group_data and user_data")
{
    logged_in s;
    auto gd = s.env.as(s.jdoe, "/json/fas_client/group_data", "force_refresh=True").obj();
    CHECK(gd.at("success") == true);
    const auto& accounts = gd.at("data").at("accounts").as_object();
    CHECK(accounts.at("id") == 100006);
    CHECK(accounts.at("type") == "tracking");
    CHECK(contains_value(accounts.at("administrators").as_array(), 100001));
    CHECK(gd.at("data").at("packager").at("sponsors").as_array().size() >= 1);
    CHECK(gd.at("data").at("fas-private").at("users").as_array().empty()); // groups without members too
    CHECK(gd.at("data").as_object().size() == s.env.dir->group_count());

    auto ud = s.env.as(s.jdoe, "/json/fas_client/user_data").obj();
    const auto& data = ud.at("data").as_object();
    CHECK(data.at("100068").at("password") == "*");
    CHECK(data.at("100068").at("ssh_key") == "");
    CHECK(data.at("100071").at("human_name") == "privuser"); // privacy: the username
    CHECK(data.at("100071").at("email") == "privuser@example.org");
    CHECK(data.at("100068").at("alias_enabled") == true);
    CHECK_FALSE(data.contains("100079")); // bots are not active
    CHECK_FALSE(data.contains("100077"));
    auto sys = s.env.as(s.sys, "/json/fas_client/user_data").obj();
    CHECK(sys.at("data").at("100068").at("password").as_string().starts_with("$1$"));
    CHECK(sys.at("data").at("100068").at("ssh_key").as_string().starts_with("ssh-"));
    CHECK(sys.at("data").at("100070").at("ssh_key").is_null());
    auto tp = s.env.login("tpuser", "tpuser-pass");
    auto t = s.env.as(tp, "/json/fas_client/user_data").obj();
    CHECK(t.at("data").at("100068").at("password") == "*");
    CHECK(t.at("data").at("100068").at("ssh_key").as_string().starts_with("ssh-"));

    auto other = s.env.as(s.jdoe, "/json/fas_client/other").obj();
    CHECK(other.at("success") == false);
    CHECK(other.at("data").as_object().empty());
    CHECK(s.env.as(s.jdoe, "/json/fas_client").status() == 500); // data is required
}

TEST_CASE("/user/list")
{
    logged_in s;
    auto all = s.env.as(s.jdoe, "/user/list", "search=*").obj();
    auto n = all.at("people").as_array().size() + all.at("unapproved_people").as_array().size();
    CHECK(n == s.env.dir->people_count());
    CHECK(all.at("search") == "*");

    auto exact = s.env.as(s.jdoe, "/user/list", "search=JDOE").obj(); // lower-cased, exact
    REQUIRE(exact.at("people").as_array().size() == 1);
    const auto& me = exact.at("people").as_array()[0].as_object();
    CHECK(me.at("password").as_string().starts_with("$1$")); // own record: self level
    CHECK(me.at("group_roles").as_object().contains("packager"));
    CHECK(me.at("memberships").as_array().size() == 4);

    auto prefix = s.env.as(s.jdoe, "/user/list", form({{"search", "No*"}, {"fields", "id"}, {"fields", "username"}})).obj();
    CHECK(prefix.at("people").as_array().empty());
    REQUIRE(prefix.at("unapproved_people").as_array().size() == 2); // nocla, noroles (ILIKE)
    for (const auto& p : prefix.at("unapproved_people").as_array()) CHECK(p.as_object().size() == 2);

    auto priv = s.env.as(s.jdoe, "/user/list", "search=privuser").obj();
    CHECK(priv.at("people").as_array()[0].at("human_name").is_null());
    CHECK(priv.at("people").as_array()[0].at("password") == "*");
    auto adm = s.env.as(s.admin, "/user/list", "search=privuser").obj();
    CHECK(adm.at("people").as_array()[0].at("human_name") == "Private Person");
    CHECK(adm.at("people").as_array()[0].at("password").as_string().starts_with("$1$"));

    // The LEFT JOIN quirk for role-less accounts.
    auto none = s.env.as(s.jdoe, "/user/list", "search=noroles").obj();
    const auto& nr = none.at("unapproved_people").as_array()[0].as_object();
    CHECK(nr.at("memberships").as_array().size() == 1);
    CHECK(nr.at("memberships").as_array()[0].at("id").is_null());
    CHECK(nr.at("group_roles").as_object().contains("null"));
    CHECK(nr.at("roles").as_array()[0].at("group_id").is_null());

    auto nothing = s.env.as(s.jdoe, "/user/list", "search=zzz*").obj();
    CHECK(nothing.at("tg_flash") == "No users found matching 'zzz*'");
    auto bad = s.env.as(s.jdoe, "/user/list", "fields=bugzilla_email").obj();
    CHECK(bad.at("exc") == "Invalid");
    CHECK(bad.at("tg_flash") == "Invalid field specified: bugzilla_email");

    // limit counts person x role rows: jdoe has 4 roles, so limit=2 keeps two of them.
    auto lim = s.env.as(s.jdoe, "/user/list", "search=jdoe&limit=2").obj();
    CHECK(lim.at("people").as_array()[0].at("roles").as_array().size() == 2);
    CHECK(s.env.as(s.jdoe, "/user/list", "search=*&limit=x").status() == 500);
    auto byemail = s.env.as(s.jdoe, "/user/list", "search=root@*&by_email=1&fields=username").obj();
    CHECK(byemail.at("people").as_array()[0].at("username") == "admin");
    auto bystatus = s.env.as(s.jdoe, "/user/list", "search=*&status=inactive&fields=username").obj();
    CHECK(bystatus.at("people").as_array().size() + bystatus.at("unapproved_people").as_array().size() >= 1);
    // The default search is 'a*'.
    auto dflt = s.env.as(s.jdoe, "/user/list", "fields=username").obj();
    for (const auto& p : dflt.at("people").as_array()) CHECK(p.at("username").as_string().starts_with("a"));
    // HTML by default.
    request_options html;
    html.visit = s.jdoe;
    html.accept = "";
    CHECK(s.env.send("/user/list", html).header(http::field::content_type) == "text/html; charset=utf-8");
}

TEST_CASE("/group/dump")
{
    logged_in s;
    auto g = s.env.as(s.jdoe, "/group/dump/packager").obj();
    const auto& rows = g.at("people").as_array();
    std::vector<std::string> names;
    for (const auto& r : rows) names.emplace_back(r.as_array()[0].as_string());
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::find(names.begin(), names.end(), "nocla") == names.end()); // unapproved
    for (const auto& r : rows) {
        const auto& a = r.as_array();
        if (a[0] == "jdoe") {
            CHECK(a[3] == "sponsor");
            CHECK(a[4] == 1); // sponsored privuser's packager role
        }
        if (a[0] == "privuser") {
            CHECK(a[1] == "privuser@example.org"); // e-mail never hidden
            CHECK(a[2] == "");                     // human_name blanked
        }
    }
    auto adm = s.env.as(s.admin, "/group/dump/packager").obj();
    for (const auto& r : adm.at("people").as_array())
        if (r.as_array()[0] == "privuser") CHECK(r.as_array()[2] == "Private Person");

    auto everyone = s.env.as(s.jdoe, "/group/dump").obj();
    CHECK(everyone.at("people").as_array().size() == s.env.dir->people_count());
    for (const auto& r : everyone.at("people").as_array()) {
        CHECK(r.as_array()[3] == "user");
        if (r.as_array()[0] == "admin") CHECK(r.as_array()[4].as_int64() > 10);
    }
    CHECK(s.env.as(s.jdoe, "/group/dump/nosuch").obj().at("people").as_array().empty());
    CHECK(s.env.as(s.jdoe, "/group/dump/fas-system").obj().at("people").as_array().size() == 1);
    CHECK(s.env.as(s.jdoe, "/group/dump/packager", "role_type=user").status() == 200);

    request_options text;
    text.visit = s.jdoe;
    text.accept = "*/*";
    auto t = s.env.send("/group/dump/packager", text);
    CHECK(t.header(http::field::content_type) == "text/plain; charset=utf-8");
    CHECK(t.body().find("jdoe,jdoe@example.org,John Doe,sponsor,1\n") != std::string::npos);
    // python-fedora double-quotes: "fas%2Dsystem"-style segments arrive decoded once.
    CHECK(s.env.as(s.jdoe, "/group/dump/pack%61ger").obj().at("people").as_array().size() == rows.size());
}

TEST_CASE("/group/list")
{
    logged_in s;
    auto a = s.env.as(s.jdoe, "/group/list").obj();
    CHECK(a.at("search") == "*");
    CHECK(a.at("memberships").as_object().empty()); // Accept-only JSON
    std::vector<std::string> names;
    for (const auto& g : a.at("groups").as_array()) names.emplace_back(g.at("name").as_string());
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::find(names.begin(), names.end(), "fas-private") == names.end());
    CHECK(std::find(names.begin(), names.end(), "fas-system") == names.end());
    CHECK(std::find(names.begin(), names.end(), "packager") != names.end());

    auto adm = s.env.as(s.admin, "/group/list").obj();
    bool admin_sees = false;
    for (const auto& g : adm.at("groups").as_array()) admin_sees |= g.at("name") == "fas-private";
    CHECK(admin_sees);

    auto full = s.env.as(s.jdoe, "/group/list", "", "tg_format=json").obj();
    const auto& m = full.at("memberships").as_object();
    CHECK(m.contains("100006")); // all groups, fas-* included
    bool found = false;
    for (const auto& e : m.at("100300").as_array())
        if (e.at("person_id") == 100068) found = e.at("role_type") == "sponsor";
    CHECK(found);
    CHECK(s.env.as(s.jdoe, "/group/list", "with_members=", "tg_format=json").obj().at("memberships").is_array());
    auto redirect = s.env.as(s.jdoe, "/group/list", "with_members=&search=packager", "tg_format=json");
    CHECK(redirect.status() == 303);
    CHECK(redirect.header(http::field::location).find("/accounts/group/view/packager?_csrf_token=") != std::string::npos);

    auto cla = s.env.as(s.jdoe, "/group/list", "search=CLA*").obj();
    CHECK(cla.at("groups").as_array().size() == 3);
    auto none = s.env.as(s.jdoe, "/group/list", "search=zzz").obj();
    CHECK(none.at("groups").as_array().empty());
    CHECK(none.at("tg_flash") == "No Groups found matching 'zzz'");
}

TEST_CASE("/group/create, its redirect and /group/view")
{
    logged_in s;
    std::string body = form({{"invite_only", "0"}, {"needs_sponsor", "0"}, {"user_can_remove", "1"},
                             {"prerequisite", ""}, {"joinmsg", ""}, {"apply_rules", "None"}});
    // python-fedora double-quotes segments: 'SDK test group' arrives as 'SDK%20test%20group'.
    auto a = s.env.as(s.admin, "/group/create/sdk-test/SDK%2520test%2520group/jdoe/tracking", body);
    REQUIRE(a.status() == 303);
    auto location = a.header(http::field::location);
    CHECK(location == "http://127.0.0.1:8080/accounts/group/view/sdk-test?_csrf_token=" + fas_csrf_token(s.admin));
    auto cookies = a.cookies();
    CHECK(std::find(cookies.begin(), cookies.end(),
                    "tg_flash=The%20group%3A%20%27sdk-test%27%20has%20been%20created.; Path=/") != cookies.end());

    auto g = s.env.dir->group("sdk-test");
    REQUIRE(g);
    CHECK(g->display_name == "SDK%20test%20group");
    CHECK(g->invite_only);      // Bool("0") is true
    CHECK(g->needs_sponsor);
    CHECK(g->user_can_remove);
    CHECK(g->apply_rules == "None");
    CHECK(g->owner_id == 100068);
    CHECK(g->id > 200000);

    // Follow the redirect as requests does: GET, cookie + query token + flash cookie.
    request_options follow;
    follow.method = http::verb::get;
    follow.visit = s.admin;
    follow.csrf = false;
    follow.query = location.substr(location.find('?') + 1);
    follow.headers = {{http::field::cookie, "tg_flash=The%20group%3A%20%27sdk-test%27%20has%20been%20created."}};
    auto view = s.env.send("/group/view/sdk-test", follow);
    REQUIRE(view.status() == 200);
    auto v = view.obj();
    CHECK(v.at("tg_flash") == "The group: 'sdk-test' has been created.");
    CHECK(v.at("group").at("name") == "sdk-test");
    CHECK(v.at("group").as_object().size() == 17);
    CHECK(v.at("sponsor_queue").as_array().empty());
    REQUIRE(v.at("members").as_array().size() == 1);
    CHECK(v.at("members").as_array()[0].at("role_type") == "administrator");
    CHECK(v.at("members").as_array()[0].at("sponsor_id") == 100001);
    auto vc = view.cookies();
    CHECK(std::find_if(vc.begin(), vc.end(), [](auto& c) { return c.rfind("tg_flash=;", 0) == 0; }) != vc.end());

    // sysadmin members may create groups too.
    CHECK(s.env.as(s.sysadm, "/group/create/sysadm-group/X/jdoe/git").status() == 303);
    // Others are flashed and sent to '/'.
    auto denied = s.env.as(s.jdoe, "/group/create/jdoe-group/X/jdoe/tracking");
    CHECK(denied.status() == 303);
    CHECK(denied.header(http::field::location) == "http://127.0.0.1:8080/accounts/?_csrf_token=" + fas_csrf_token(s.jdoe));
    CHECK_FALSE(s.env.dir->group("jdoe-group"));
    request_options land;
    land.visit = s.jdoe;
    land.headers = {{http::field::cookie, "tg_flash=Only%20FAS%20administrators%20can%20create%20groups."}};
    CHECK(s.env.send("/", land).obj().at("tg_flash") == "Only FAS administrators can create groups.");

    // Validation failures: a silent {"tg_flash": null} with 200.
    for (auto path : {"/group/create/sdk-test/X/jdoe/tracking",   // exists
                      "/group/create/jdoe/X/jdoe/tracking",       // a username
                      "/group/create/ab/X/jdoe/tracking",         // too short
                      "/group/create/Upper/X/jdoe/tracking",      // bad characters
                      "/group/create/okname/X/nobody/tracking",   // unknown owner
                      "/group/create/okname/X/jdoe/weird",        // bad type
                      "/group/create/okname/X/jdoe"}) {           // missing type
        CAPTURE(path);
        auto r = s.env.as(s.admin, path);
        CHECK(r.status() == 200);
        CHECK(r.body() == "{\"tg_flash\":null}");
    }
    CHECK(s.env.as(s.admin, "/group/create/okname/X/jdoe/tracking", "prerequisite=nosuch").body() == "{\"tg_flash\":null}");
    CHECK(s.env.as(s.admin, "/group/create/okname/X/jdoe/tracking", "bogus=1").status() == 500);
    CHECK(s.env.as(s.admin, "/group/create/okname2/X/jdoe/tracking", "prerequisite=cla_done").status() == 303);

    // The fixed quirk switch.
    fas_app_params strict;
    strict.quirks.nonempty_string_is_true = false;
    fas_env env2(strict);
    auto adm2 = env2.login("admin", "admin");
    CHECK(env2.as(adm2, "/group/create/quirkless/X/jdoe/tracking", body).status() == 303);
    CHECK_FALSE(env2.dir->group("quirkless")->invite_only);

    // /group/view failure modes.
    CHECK(s.env.as(s.jdoe, "/group/view/nosuch").body() == "{\"tg_flash\":null}");
    auto hidden = s.env.as(s.jdoe, "/group/view/fas-private");
    CHECK(hidden.status() == 303);
    CHECK(s.env.as(s.admin, "/group/view/fas-private").status() == 200);
    auto pk = s.env.as(s.jdoe, "/group/view/packager").obj();
    CHECK(pk.at("sponsor_queue").as_array().size() == 1); // nocla
}

TEST_CASE("/group/members")
{
    logged_in s;
    auto m = s.env.as(s.jdoe, "/group/members/packager", "search=*").obj();
    CHECK(m.at("group").at("name") == "packager");
    CHECK(m.at("search") == "*");
    CHECK(m.at("members").as_array().size() >= 4); // approved and unapproved
    auto d = s.env.as(s.jdoe, "/group/members/packager").obj(); // default search 'a*'
    for (const auto& r : d.at("members").as_array()) CHECK(r.at("person_id") == 100001);
    auto sp = s.env.as(s.jdoe, "/group/members/packager", "search=*&role_type=sponsor").obj();
    for (const auto& r : sp.at("members").as_array()) CHECK(r.at("role_type") == "sponsor");
    CHECK(s.env.as(s.jdoe, "/group/members/packager", "order_by=bogus").body() == "{\"tg_flash\":null}");
    CHECK(s.env.as(s.jdoe, "/group/members/nosuch").body() == "{\"tg_flash\":null}");
    CHECK(s.env.as(s.jdoe, "/group/members/fas-private").status() == 303);
}

TEST_CASE("/config/list and /config/set")
{
    logged_in s;
    auto mine = s.env.as(s.jdoe, "/config/list/jdoe/bugzilla/%2A").obj();
    CHECK(mine.at("username") == "jdoe");
    CHECK(mine.at("application") == "bugzilla");
    CHECK(mine.at("pattern") == "%");
    CHECK(mine.at("configs").at("login") == "jdoe@example.org");
    CHECK(s.env.as(s.jdoe, "/config/list/jdoe/bugzilla/LOGIN").obj().at("configs").as_object().size() == 1);
    CHECK(s.env.as(s.jdoe, "/config/list/jdoe/bugzilla/log_n").obj().at("configs").as_object().size() == 1);
    CHECK(s.env.as(s.jdoe, "/config/list/jdoe/bugzilla").obj().at("pattern") == "%"); // default '*'
    CHECK(s.env.as(s.jdoe, "/config/list/jdoe/moin/x*").obj().at("configs").as_object().empty());

    auto other = s.env.as(s.jdoe, "/config/list/admin/bugzilla/%2A").obj();
    CHECK(other.at("exc") == "AuthorizationError");
    CHECK(other.at("tg_flash") == "You cannot look at configs for admin");
    CHECK(s.env.as(s.sys, "/config/list/jdoe/bugzilla/%2A").obj().at("exc") == "AuthorizationError");
    CHECK(s.env.as(s.admin, "/config/list/jdoe/bugzilla/%2A").obj().at("configs").at("login") == "jdoe@example.org");
    CHECK(s.env.as(s.admin, "/config/list/nobody/bugzilla/%2A").status() == 500);
    auto inv = s.env.as(s.jdoe, "/config/list/jdoe/Bad%20App/%2A").obj();
    CHECK(inv.at("exc") == "Invalid");
    CHECK(inv.at("tg_flash") == "application: The input is not valid");
    CHECK(s.env.as(s.jdoe, "/config/list").status() == 500);

    auto set = s.env.as(s.jdoe, "/config/set/jdoe/bugzilla/login", form({{"value", "new@example.org"}})).obj();
    CHECK(set.at("tg_flash") == "Config value successfully updated");
    CHECK(set.size() == 1);
    CHECK(s.env.dir->config("jdoe", "bugzilla", "login") == std::optional<std::optional<std::string>>(std::string("new@example.org")));
    CHECK(s.env.as(s.jdoe, "/config/set/jdoe/moin/theme").obj().at("tg_flash") == "Config value successfully updated");
    CHECK(s.env.as(s.jdoe, "/config/list/jdoe/moin/theme").obj().at("configs").at("theme").is_null());

    auto unauth = s.env.as(s.jdoe, "/config/set/admin/bugzilla/login", "value=x").obj();
    CHECK(unauth.at("exc") == "AuthorizationError");
    CHECK(unauth.at("tg_flash") == "You cannot edit configs for admin");
    CHECK(s.env.as(s.admin, "/config/set/jdoe/openid/x", "value=y").obj().at("tg_flash") == "Config value successfully updated");
    auto unknown = s.env.as(s.admin, "/config/set/nobody/bugzilla/login", "value=x").obj();
    CHECK(unknown.at("exc") == "Invalid");
    CHECK(unknown.at("tg_flash") == "username: 'nobody' does not exist.");
    auto both = s.env.as(s.admin, "/config/set/nobody/BAD/login", "value=x").obj();
    CHECK(both.at("tg_flash") == "username: 'nobody' does not exist.\napplication: The input is not valid");
    auto db = s.env.as(s.jdoe, "/config/set/jdoe/notanapp/login", "value=x").obj();
    CHECK(db.at("exc") == "DBAPIError");
    CHECK(db.at("tg_flash").as_string().starts_with("Error saving the config to the database: "));
}

TEST_CASE("/user/dogencert")
{
    logged_in s;
    auto before = s.env.dir->person("jdoe")->certificate_serial;
    auto a = s.env.as(s.jdoe, "/user/dogencert").obj();
    CHECK(a.at("cla") == true);
    CHECK(a.at("cert").as_string().starts_with("-----BEGIN CERTIFICATE-----"));
    CHECK(a.at("key").as_string().find("PRIVATE KEY-----") != std::string::npos);
    CHECK(a.at("tg_flash").is_null());
    CHECK(s.env.dir->person("jdoe")->certificate_serial == before + 1);

    auto json_nocla = s.env.as(s.nocla, "/user/dogencert", "", "tg_format=json").obj();
    CHECK(json_nocla.at("cla") == false);
    auto accept_nocla = s.env.as(s.nocla, "/user/dogencert");
    CHECK(accept_nocla.status() == 303);
    CHECK(accept_nocla.header(http::field::location).find("/accounts/fpca/?_csrf_token=") != std::string::npos);
    auto fpca = s.env.as(s.nocla, "/fpca/");
    CHECK(fpca.status() == 200);
    CHECK(fpca.header(http::field::content_type) == "text/html; charset=utf-8");

    fas_app_params off;
    off.gencert = false;
    fas_env env2(off);
    auto v = env2.login("jdoe", "jdoe-pass");
    CHECK(env2.as(v, "/user/dogencert").body() == "{\"tg_flash\":null}");
    CHECK(s.env.as(s.jdoe, "/user/gencert").header(http::field::content_type) == "text/html; charset=utf-8");
}

TEST_CASE("/user/dump")
{
    logged_in s;
    auto d = s.env.as(s.jdoe, "/user/dump", "groups=packager,@cla").obj();
    CHECK(d.at("unapproved_people").as_array().empty());
    CHECK(d.at("search") == "a*");
    bool jdoe = false;
    for (const auto& p : d.at("people").as_array()) {
        CHECK(p.as_object().size() == 5);
        if (p.at("username") == "jdoe") {
            jdoe = true;
            CHECK(p.at("password").as_string().starts_with("$1$")); // self
        } else {
            CHECK(p.at("password") == "*");
            CHECK(p.at("ssh_key").is_null());
        }
        CHECK(p.at("username") != "inactive");
    }
    CHECK(jdoe);
    CHECK(s.env.as(s.jdoe, "/user/dump").obj().at("people").as_array().empty());
    CHECK(s.env.as(s.jdoe, "/user/dump", "groups=@all").obj().at("people").as_array().size() > 5);
}

TEST_CASE("unknown paths and methods")
{
    logged_in s;
    for (auto path : {"/nope", "/user", "/user/nope", "/group/nope/x", "/json/people_by_key",
                      "/fpca/x/y", "/index/x"}) {
        CAPTURE(path);
        auto a = s.env.as(s.jdoe, path);
        CHECK(a.status() == 404);
        CHECK(a.header(http::field::content_type) == "text/html; charset=utf-8");
    }
    request_options put;
    put.method = http::verb::put;
    put.visit = s.jdoe;
    put.body = "username=jdoe";
    CHECK(s.env.send("/json/person_by_username", put).status() == 200); // TG does not check methods
    request_options head;
    head.method = http::verb::head;
    CHECK(s.env.send("/", head).status() == 200);
}

TEST_CASE("hostile patterns stay cheap on a large directory")
{
    fas_data_params d;
    d.people = 20'000;
    d.groups = 100;
    fas_env env({}, d);
    auto v = env.login("jdoe", "jdoe-pass");
    std::string pattern;
    for (int i = 0; i < 2500; ++i) pattern += "%a_b";
    auto c0 = std::clock();
    auto list = env.as(v, "/user/list", form({{"search", pattern}, {"fields", "id"}}));
    CHECK(list.status() == 200);
    CHECK(list.obj().at("people").as_array().empty());
    auto query = env.as(v, "/json/people_query", form({{"username", pattern}, {"columns", "username,group"}}));
    CHECK(query.obj().at("data").as_array().empty());
    auto groups = env.as(v, "/group/list", form({{"search", pattern}}));
    CHECK(groups.status() == 200);
    auto cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    MESSAGE("three 10 KiB LIKE patterns over 20k people: " << cpu << " s CPU");
    CHECK(cpu < 2.0);
}

TEST_CASE("bad input sweep: never throws, always an HTTP answer")
{
    logged_in s;
    const std::string big(10 * 1024, 'x');
    const std::vector<std::string> raw_values = {
        "\r", "\n", "\r\nSet-Cookie: evil=1", std::string("a\0b", 3), "..", "../..", "%", "%zz",
        "%00", "%ff%fe", "\xff\xfe", "\xc3\x28", "\xed\xa0\x80", "*", "%25", "_", "'", "\"",
        "<script>", big, big + "\xff", "\\", "a\\", "%2e%2e", "\x7f", ""};
    const std::vector<std::string> paths = {
        "/login", "/logout", "/", "/home", "/json/person_by_id", "/json/person_by_username",
        "/json/group_by_id", "/json/group_by_name", "/json/user_id", "/json/people_query",
        "/json/fas_client/group_data", "/json/fas_client/user_data", "/user/view", "/user/list",
        "/user/dump", "/group/dump", "/group/list", "/group/create/a/b/c/d", "/group/view",
        "/group/members", "/config/list/jdoe/bugzilla", "/config/set/jdoe/bugzilla/x",
        "/group/view/x", "/user/dogencert"};
    const std::set<unsigned> allowed = {200, 302, 303, 400, 403, 404, 413, 500};
    auto check = [&](answer&& a, const std::string& what) {
        CAPTURE(what);
        CHECK(allowed.count(a.status()) == 1);
        CHECK_FALSE(a.body().empty());
        CHECK(a.visit().size() == 40);
        for (const auto& f : a.res) {
            std::string_view v = f.value();
            CHECK(v.find('\r') == std::string_view::npos);
            CHECK(v.find('\n') == std::string_view::npos);
        }
        if (a.header(http::field::content_type) == "application/json") {
            CHECK_NOTHROW(json::parse(a.body()));
            CHECK(std::all_of(a.body().begin(), a.body().end(),
                              [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
        }
    };
    std::size_t n = 0;
    for (const auto& path : paths) {
        for (const auto& v : raw_values) {
            const std::string enc = form_escape(v);
            std::string keys[] = {"username", "person_id", "group_id", "groupname", "search",
                                  "fields", "columns", "value", "data", "limit", "user_name"};
            std::string body;
            for (const auto& k : keys) body += k + "=" + enc + "&";
            body += "login=Login&password=" + enc;
            // Form-encoded values.
            for (const auto& who : {s.jdoe, s.admin, std::string()}) {
                request_options o;
                o.visit = who;
                o.body = body;
                answer a;
                CHECK_NOTHROW(a = s.env.send(path, o));
                check(std::move(a), path + " body");
                ++n;
            }
            // Raw (not form-escaped) bytes in body, query, path, cookie and headers.
            request_options raw;
            raw.visit = s.jdoe;
            raw.body = "username=" + v;
            raw.query = "search=" + v;
            raw.headers = {{http::field::cookie, "tg-visit=" + v + "; tg_flash=" + v}};
            answer a;
            CHECK_NOTHROW(a = s.env.send(path + "/" + v, raw));
            check(std::move(a), path + " raw");
            request_options hdr;
            hdr.accept = v;
            hdr.headers = {{http::field::authorization, "Basic " + v}};
            CHECK_NOTHROW(a = s.env.send(path, hdr));
            check(std::move(a), path + " headers");
            n += 2;
        }
    }
    MESSAGE(n << " hostile requests answered");
    // Oversized parameters: 413.
    fas_app_params tiny;
    tiny.max_form_bytes = 1024;
    fas_env env2(tiny);
    request_options o;
    o.body = "username=" + big;
    CHECK(env2.send("/json/person_by_username", o).status() == 413);
    // The session of a real user survived the sweep.
    CHECK(s.env.as(s.jdoe, "/home").status() == 200);
}

TEST_SUITE_END();
