{#-
    One row per CLV model fit (BG/NBD r, alpha, a, b; Gamma-Gamma p, q, gamma), appended on every
    build so analysts can compare fits over time. Incremental and never fully refreshed
    (full_refresh: false): the history of fits is the point. A build without customers fits nothing
    and adds no row.
-#}
{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}

with

predictions as (

    select * from {{ ref('clv_predictions') }}

),

fits as (

    select distinct
        fit_id,
        fitted_at,
        as_of,
        horizon_weeks,
        min_tenure_weeks,
        n_customers,
        n_repeat_customers,
        log_likelihood,
        r,
        alpha,
        a,
        b,
        bgnbd_converged,
        bgnbd_used,
        gg_n_customers,
        gg_log_likelihood,
        p,
        q,
        gamma,
        gg_converged,
        gg_used,
        fit_status
    from predictions

),

final as (

    -- Anti-join: a fit already stored is never appended twice.
    select fits.*
    from fits
    {% if is_incremental() %}
        left join {{ this }} as existing on fits.fit_id = existing.fit_id
        where existing.fit_id is null
    {% endif %}

)

select * from final
