#include "to_json.hpp"

#include "args.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace fedora::cli {

namespace json = boost::json;

json::value to_json(const fas::person& p)
{
    // The server's record, as python-fedora handed it out, plus bugzilla_email which the
    // client adds. The typed fields fill in when the record came without `raw`.
    json::object o = p.raw.object();
    auto put = [&](const char* k, json::value v) {
        if (!o.contains(k))
            o[k] = std::move(v);
    };
    put("id", p.id);
    put("username", json::string(p.username));
    put("human_name", json::string(p.human_name));
    put("email", json::string(p.email));
    o["bugzilla_email"] = p.bugzilla_email;
    return o;
}

json::value to_json(const fas::group& g)
{
    json::object o = g.raw.object();
    if (!o.contains("id"))
        o["id"] = g.id;
    if (!o.contains("name"))
        o["name"] = g.name;
    return o;
}

json::value to_json(const fas::member& m)
{
    return json::object{{"username", m.username}, {"role_type", m.role_type}};
}

json::value to_json(const fas::person_summary& p)
{
    return json::object{{"id", p.id},
                        {"username", p.username},
                        {"human_name", p.human_name},
                        {"email", p.email},
                        {"bugzilla_email", p.bugzilla_email}};
}

json::value to_json(const fas::group_list& l)
{
    json::array groups;
    for (const auto& g : l.groups) {
        json::object o = to_json(g).as_object();
        json::array members;
        if (auto it = l.memberships.find(g.id); it != l.memberships.end())
            for (const auto& m : it->second)
                members.push_back(json::object{{"person_id", m.person_id}, {"role_type", m.role_type}});
        o["members"] = std::to_string(members.size());
        o["memberships"] = std::move(members);
        groups.push_back(std::move(o));
    }
    return groups;
}

json::value to_json(const fas::login_info& l)
{
    json::array groups;
    for (const auto& g : l.groups)
        groups.push_back(json::string(g));
    return json::object{{"id", l.user.id}, {"username", l.user.username}, {"human_name", l.user.human_name},
                        {"email", l.user.email}, {"groups", std::move(groups)}};
}

// ---- Bodhi -------------------------------------------------------------------------------

json::value to_json(const bodhi::comment& c)
{
    json::object o{{"author", c.author},   {"anonymous", c.anonymous}, {"karma", c.karma},
                   {"text", c.text},       {"timestamp", c.timestamp}};
    if (c.id)
        o["id"] = c.id;
    if (!c.group.empty())
        o["group"] = c.group;
    if (c.karma_critpath)
        o["karma_critpath"] = c.karma_critpath;
    if (!c.update_title.empty())
        o["update_title"] = c.update_title;
    return o;
}

json::value to_json(const bodhi::release& r)
{
    json::object o{{"name", r.name}, {"long_name", r.long_name}, {"id_prefix", r.id_prefix},
                   {"dist_tag", r.dist_tag}, {"locked", r.locked}};
    auto opt = [&](const char* k, const std::string& v) {
        if (!v.empty())
            o[k] = v;
    };
    opt("version", r.version);
    opt("branch", r.branch);
    opt("state", r.state);
    opt("candidate_tag", r.candidate_tag);
    opt("testing_tag", r.testing_tag);
    opt("stable_tag", r.stable_tag);
    opt("override_tag", r.override_tag);
    return o;
}

json::value to_json(const bodhi::update& u)
{
    json::array builds, bugs, comments;
    for (const auto& b : u.builds)
        builds.push_back(json::object{{"nvr", b.nvr}, {"package", b.package}});
    for (const auto& b : u.bugs)
        bugs.push_back(json::object{{"id", b.id}, {"title", b.title}, {"security", b.security}});
    for (const auto& c : u.comments)
        comments.push_back(to_json(c));
    json::object o{{"key", u.key},
                   {"title", u.title},
                   {"alias", u.alias},
                   {"submitter", u.submitter},
                   {"type", u.type},
                   {"status", u.status},
                   {"request", u.request},
                   {"karma", u.karma},
                   {"stable_karma", u.stable_karma},
                   {"unstable_karma", u.unstable_karma},
                   {"critpath", u.critpath},
                   {"close_bugs", u.close_bugs},
                   {"pushed", u.pushed},
                   {"release", u.release.name},
                   {"date_submitted", u.date_submitted},
                   {"date_modified", u.date_modified},
                   {"date_pushed", u.date_pushed},
                   {"notes", u.notes},
                   {"builds", std::move(builds)},
                   {"bugs", std::move(bugs)},
                   {"comments", std::move(comments)}};
    if (!u.severity.empty())
        o["severity"] = u.severity;
    if (!u.suggest.empty())
        o["suggest"] = u.suggest;
    if (u.autokarma)
        o["autokarma"] = *u.autokarma;
    if (u.critpath_approved)
        o["critpath_approved"] = *u.critpath_approved;
    return o;
}

json::value to_json(const bodhi::override_record& r)
{
    json::object o{{"nvr", r.nvr},
                   {"submitter", r.submitter},
                   {"notes", r.notes},
                   {"submission_date", r.submission_date},
                   {"expiration_date", r.expiration_date},
                   {"expired_date", r.expired_date},
                   {"expired", r.expired()}};
    if (!r.release.empty())
        o["release"] = r.release;
    return o;
}

json::value to_json(const bodhi::package& p)
{
    return json::object{{"name", p.name}, {"requirements", p.requirements}};
}

json::value to_json(const std::vector<bodhi::caveat>& c)
{
    json::array a;
    for (const auto& x : c)
        a.push_back(json::object{{"name", x.name}, {"description", x.description}});
    return a;
}

json::value to_json(const bodhi::save_result& r)
{
    return json::object{{"updates", to_json(r.updates)}, {"caveats", to_json(r.caveats)}, {"message", r.message}};
}

json::value to_json(const bodhi::request_result& r)
{
    return json::object{{"update", to_json(r.update)}, {"caveats", to_json(r.caveats)}, {"message", r.message}};
}

json::value to_json(const bodhi::comment_result& r)
{
    return json::object{{"comment", to_json(r.comment)},
                        {"update", r.update.key},
                        {"karma", r.update.karma},
                        {"caveats", to_json(r.caveats)},
                        {"message", r.message}};
}

json::value to_json(const bodhi::override_result& r)
{
    return json::object{
        {"overrides", to_json(r.overrides)}, {"caveats", to_json(r.caveats)}, {"message", r.message}};
}

std::string session_to_text(const bodhi::session& s)
{
    json::array cookies;
    for (const auto& [name, value] : s.cookies)
        cookies.push_back(json::array{json::string(name), json::string(value)});
    return json::serialize(json::object{{"origin", s.origin},
                                        {"username", s.username},
                                        {"cookies", std::move(cookies)},
                                        {"csrf_token", s.csrf_token}});
}

bodhi::session session_from_text(std::string_view text)
{
    const char* bad = "FEDORA_BODHI_SESSION is not a session printed by 'fedora bodhi login'";
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object())
        throw usage_error(bad);
    const auto& o = v.get_object();
    auto text_of = [&](const char* k) -> std::string {
        auto* f = o.if_contains(k);
        if (!f)
            return {};
        if (!f->is_string())
            throw usage_error(bad);
        return std::string(f->get_string());
    };
    bodhi::session s;
    s.origin = text_of("origin");
    s.username = text_of("username");
    s.csrf_token = text_of("csrf_token");
    if (auto* c = o.if_contains("cookies")) {
        if (!c->is_array())
            throw usage_error(bad);
        for (const auto& pair : c->get_array()) {
            if (!pair.is_array() || pair.get_array().size() != 2 || !pair.get_array()[0].is_string() ||
                !pair.get_array()[1].is_string())
                throw usage_error(bad);
            s.cookies.emplace_back(std::string(pair.get_array()[0].get_string()),
                                   std::string(pair.get_array()[1].get_string()));
        }
    }
    if (!s.valid() || s.origin.empty())
        throw usage_error(bad);
    return s;
}

} // namespace fedora::cli
