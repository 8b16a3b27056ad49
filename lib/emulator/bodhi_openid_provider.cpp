// The OpenID provider (FedOAuth/Ipsilon) that the emulated Bodhi 2 login talks to.
#include <fedora/emulator/bodhi.hpp>

#include "bodhi_web.hpp"

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>

#include <exception>
#include <mutex>
#include <unordered_map>

namespace fedora::emulator {

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using namespace bodhi_web;

using field_list = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view signed_fields =
    "op_endpoint,return_to,response_nonce,assoc_handle,claimed_id,identity,sreg.nickname,sreg.email,"
    "sreg.fullname,lp.is_member";

bool is_http_url(std::string_view s)
{
    return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

std::string iso_time(bodhi_time t)
{
    std::string s = format_bodhi_time(t);
    s[10] = 'T';
    return s + "Z";
}

} // namespace

struct openid_provider_application::impl
{
    std::shared_ptr<bodhi_data> data;
    std::mutex mutex;
    std::unordered_map<std::string, std::string> transactions; // id -> the checkid query

    explicit impl(std::shared_ptr<bodhi_data> d) : data(std::move(d)) {}

    http_response handle(const http_request& req, const request_context& ctx);

    // Validates the OpenID request fields; "" when fine, else the reason.
    static std::string check_request(const param_map& p);
    // The positive assertion for `user`, signed.
    field_list assertion(const param_map& p, const bodhi_user& user, const std::string& endpoint);
    http_response login_page(const http_request& req, const std::string& base, const std::string& transaction,
                             std::string_view error);
};

std::string openid_provider_application::impl::check_request(const param_map& p)
{
    std::string mode = p.get_or("openid.mode", "checkid_setup");
    if (mode != "checkid_setup" && mode != "checkid_immediate")
        return "Unsupported openid.mode: " + mode;
    std::string return_to = p.get_or("openid.return_to", "");
    if (!is_http_url(return_to))
        return "Missing or invalid openid.return_to";
    if (auto realm = p.get("openid.realm"); realm && !realm->empty() && return_to.rfind(*realm, 0) != 0)
        return "openid.return_to is outside openid.realm";
    return {};
}

field_list openid_provider_application::impl::assertion(const param_map& p, const bodhi_user& user,
                                                        const std::string& endpoint)
{
    std::string groups;
    for (const auto& g : user.groups)
        groups += (groups.empty() ? "" : ",") + g;
    std::string identity = "http://" + user.name + ".id.fedoraproject.org/";
    field_list f{
        {"openid.ns", "http://specs.openid.net/auth/2.0"},
        {"openid.mode", "id_res"},
        {"openid.op_endpoint", endpoint},
        {"openid.return_to", p.get_or("openid.return_to", "")},
        {"openid.response_nonce", iso_time(data->now()) + data->next_token().substr(0, 12)},
        {"openid.assoc_handle", p.get_or("openid.assoc_handle", "emulator")},
        {"openid.claimed_id", identity},
        {"openid.identity", identity},
        {"openid.ns.sreg", "http://openid.net/extensions/sreg/1.1"},
        {"openid.sreg.nickname", user.name},
        {"openid.sreg.email", user.email},
        {"openid.sreg.fullname", user.human_name},
        {"openid.ns.lp", "http://ns.launchpad.net/2007/openid-teams"},
        {"openid.lp.is_member", groups},
        {"openid.signed", std::string(signed_fields)},
    };
    std::string kv;
    std::string list(signed_fields);
    std::size_t start = 0;
    while (start <= list.size()) {
        auto comma = list.find(',', start);
        std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        std::string value;
        for (const auto& [k, v] : f)
            if (k == "openid." + name)
                value = v;
        kv += name + ":" + value + "\n";
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    f.emplace_back("openid.sig", hmac_sha256_base64(data->openid_secret(), kv));
    return f;
}

http_response openid_provider_application::impl::login_page(const http_request& req, const std::string& base,
                                                            const std::string& transaction, std::string_view error)
{
    std::string html = "<p>OpenID transaction in progress</p>\n";
    if (!error.empty())
        html += "<p class=\"error\">" + html_escape(error) + "</p>\n";
    html += "<form method=\"post\" action=\"" + html_escape(base) + "/openid/\">\n"
            "<input type=\"hidden\" name=\"transaction\" value=\"" + html_escape(transaction) + "\"/>\n"
            "<input name=\"username\"/> <input type=\"password\" name=\"password\"/>\n"
            "<input type=\"submit\" value=\"Log in\"/></form>";
    return html_response(req, error.empty() ? http::status::ok : http::status::unauthorized,
                         "Fedora Account System OpenID", html);
}

http_response openid_provider_application::impl::handle(const http_request& req, const request_context& ctx)
{
    std::string base = base_url(req, ctx);
    std::string endpoint = base + "/openid/";
    param_map params;
    std::string where, error;
    auto path = split_path(ctx.path_in_app);
    bool api = path && path->segments.size() == 2 && path->segments[0] == "api" && path->segments[1] == "v1";
    if (!parse_params(req, ctx.query, params, where, error) || !path) {
        if (api)
            return json_response(req, http::status::bad_request,
                                 json::object{{"success", false}, {"message", error.empty() ? "Bad request" : error}});
        return html_response(req, http::status::bad_request, "Bad Request", "<p>" + html_escape(error) + "</p>");
    }
    const auto& seg = path->segments;
    bool get = req.method() == http::verb::get || req.method() == http::verb::head;
    bool post = req.method() == http::verb::post;

    if (seg.empty() && get)
        return html_response(req, http::status::ok, "Fedora Account System OpenID",
                             "<p>This is an OpenID provider for the fedora-client emulator.</p>");

    if (api) {
        if (!post)
            return json_response(req, http::status::method_not_allowed,
                                 json::object{{"success", false}, {"message", "Use POST"}});
        if (auto why = check_request(params); !why.empty())
            return json_response(req, http::status::bad_request, json::object{{"success", false}, {"message", why}});
        auto user = data->authenticate(params.get_or("username", ""), params.get_or("password", ""));
        if (!user)
            return json_response(req, http::status::ok,
                                 json::object{{"success", false}, {"message", "Authentication failed"}});
        json::object response;
        for (auto& [k, v] : assertion(params, *user, endpoint))
            response[k] = v;
        return json_response(req, http::status::ok, json::object{{"success", true}, {"response", std::move(response)}});
    }

    if (seg.size() == 1 && seg[0] == "openid") {
        if (get) {
            if (!params.has("openid.mode"))
                return html_response(req, http::status::ok, "Fedora Account System OpenID",
                                     "<p>OpenID endpoint.</p>");
            if (auto why = check_request(params); !why.empty())
                return html_response(req, http::status::bad_request, "OpenID error", "<p>" + html_escape(why) + "</p>");
            // Ipsilon sent the browser on to its login form; the transaction keeps the request.
            std::string id = data->next_token().substr(0, 16);
            {
                std::lock_guard lock(mutex);
                if (transactions.size() > 10000)
                    transactions.clear();
                transactions[id] = std::string(ctx.query);
            }
            return redirect(req, base + "/login?transaction=" + id);
        }
        if (post) {
            // The browser form: the OpenID fields come back through the transaction.
            param_map request = params;
            if (auto t = params.get("transaction")) {
                std::lock_guard lock(mutex);
                if (auto it = transactions.find(*t); it != transactions.end())
                    parse_form(it->second, request);
            }
            if (auto why = check_request(request); !why.empty())
                return html_response(req, http::status::bad_request, "OpenID error", "<p>" + html_escape(why) + "</p>");
            auto user = data->authenticate(request.get_or("username", ""), request.get_or("password", ""));
            if (!user)
                return login_page(req, base, params.get_or("transaction", ""), "Authentication failed");
            std::string return_to = request.get_or("openid.return_to", "");
            std::string location = return_to + (return_to.find('?') == std::string::npos ? "?" : "&")
                + form_encode(assertion(request, *user, endpoint));
            return redirect(req, location);
        }
    }
    if (seg.size() == 1 && seg[0] == "login" && get)
        return login_page(req, base, params.get_or("transaction", ""), {});
    return html_response(req, http::status::not_found, "404 Not Found", "<p>No such page.</p>");
}

openid_provider_application::openid_provider_application(std::shared_ptr<bodhi_data> users)
    : impl_(std::make_unique<impl>(std::move(users)))
{
}

openid_provider_application::~openid_provider_application() = default;

http_response openid_provider_application::handle(const http_request& request, const request_context& context)
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

} // namespace fedora::emulator
