// The SDK's result types as JSON, for the CLI's output. FAS records are the server's own
// objects (as python-fedora returned them) plus what the client adds; Bodhi records are the
// SDK's one model, the same whichever Bodhi version answered.
#pragma once

#include <fedora/bodhi/operations.hpp>
#include <fedora/fas/types.hpp>

#include <boost/json/value.hpp>

namespace fedora::cli {

boost::json::value to_json(const fas::person& p);
boost::json::value to_json(const fas::group& g);
boost::json::value to_json(const fas::member& m);
boost::json::value to_json(const fas::person_summary& p);
boost::json::value to_json(const fas::group_list& l);
boost::json::value to_json(const fas::login_info& l);

boost::json::value to_json(const bodhi::update& u);
boost::json::value to_json(const bodhi::release& r);
boost::json::value to_json(const bodhi::comment& c);
boost::json::value to_json(const bodhi::override_record& o);
boost::json::value to_json(const bodhi::package& p);
boost::json::value to_json(const std::vector<bodhi::caveat>& c);
boost::json::value to_json(const bodhi::save_result& r);
boost::json::value to_json(const bodhi::request_result& r);
boost::json::value to_json(const bodhi::comment_result& r);
boost::json::value to_json(const bodhi::override_result& r);

template <class T>
boost::json::value to_json(const bodhi::page<T>& p)
{
    boost::json::array rows;
    for (const auto& r : p.rows)
        rows.push_back(to_json(r));
    return boost::json::object{{"rows", std::move(rows)},
                               {"page", p.number},
                               {"pages", p.pages},
                               {"rows_per_page", p.rows_per_page},
                               {"total", p.total}};
}

template <class T>
boost::json::value to_json(const std::vector<T>& v)
{
    boost::json::array a;
    for (const auto& e : v)
        a.push_back(to_json(e));
    return a;
}

// A Bodhi session as the text FEDORA_BODHI_SESSION holds (compact JSON), and back
// (usage_error for anything else).
std::string session_to_text(const bodhi::session& s);
bodhi::session session_from_text(std::string_view text);

} // namespace fedora::cli
