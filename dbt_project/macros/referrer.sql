{#- Host of a URL without a leading www. (NULL when the URL is empty or not absolute). -#}
{% macro url_host(column) -%}
    {{ return(adapter.dispatch('url_host', 'lifecycle')(column)) }}
{%- endmacro %}

{% macro duckdb__url_host(column) -%}
    nullif(lower(regexp_extract({{ column }}, '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:www\.)?([^/:?#]+)', 1)), '')
{%- endmacro %}

{% macro default__url_host(column) -%}
    {{ exceptions.raise_compiler_error("url_host is not implemented for adapter " ~ adapter.type()) }}
{%- endmacro %}

{#- SPEC 7 first-touch fallback: the class of a referrer host (search, social or referral).
    Plain LIKE over the registrable name ("google" matches google.com, www.google.co.uk,
    news.google.com) so the expression is the same on every engine. -#}
{% macro referrer_class(host) -%}
    {%- set search = ['google', 'bing', 'duckduckgo', 'yahoo', 'baidu', 'yandex', 'ecosia', 'startpage'] -%}
    {%- set social = ['facebook', 'instagram', 'twitter', 'x', 't', 'linkedin', 'lnkd', 'reddit',
                      'pinterest', 'tiktok', 'youtube', 'threads'] -%}
    case
        when {{ host }} is null then null
        when {% for name in search %}{{ host }} like '{{ name }}.%' or {{ host }} like '%.{{ name }}.%'{{ ' or ' if not loop.last }}{% endfor %}
            then 'search'
        when {% for name in social %}{{ host }} like '{{ name }}.%' or {{ host }} like '%.{{ name }}.%'{{ ' or ' if not loop.last }}{% endfor %}
            then 'social'
        else 'referral'
    end
{%- endmacro %}
