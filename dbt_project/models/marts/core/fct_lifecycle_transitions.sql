{#-
    Every change of lifecycle stage (SPEC 6), derived from the events rather than from run
    snapshots: first seen (reach), becoming a lead (acquisition), each order (conversion,
    retention, loyalty; "reactivation" when it ends an at_risk/churned spell), and the lapses at
    last order + at_risk_days (at_risk) and + churn_days (churned) when that moment is before as_of.
    Candidate stage points are ordered in time; a row is kept only where the stage changes, so
    the last row of a person is the current stage in dim_persons (a data test proves it).
    Rebuilt fully each run: identity merges can rewrite a person's whole history, and the input
    (orders and two milestones per person) is small next to the event tables.
-#}
with

persons as (

    select * from {{ ref('int_persons_activity_aggregated') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

as_of as (

    select {{ lifecycle_as_of() }} as as_of

),

first_orders as (

    select person_id, min(ordered_at) as first_order_at from orders group by person_id

),

orders_with_next as (

    select
        orders.*,
        lead(orders.ordered_at) over (partition by orders.person_id order by orders.order_number) as next_ordered_at
    from orders

),

-- Sequence numbers order the points of one person at the same instant: reach 1, acquisition 2, then
-- for the n-th order: the order itself 10 + 3n, its at_risk lapse 11 + 3n, its churn lapse 12 + 3n.
-- A milestone counts only before the person's first order; reach also only before acquisition.
milestone_rules as (

    select 'reach' as to_stage, 'first_seen' as trigger, 1 as point_sequence
    union all
    select 'acquisition' as to_stage, 'became_lead' as trigger, 2 as point_sequence

),

milestones as (

    select
        persons.person_id,
        case when milestone_rules.to_stage = 'reach' then persons.first_seen_at else persons.lead_at end as point_at,
        case when milestone_rules.to_stage = 'reach' then persons.lead_at end as before_at,
        milestone_rules.point_sequence,
        milestone_rules.to_stage,
        milestone_rules.trigger
    from persons
    cross join milestone_rules

),

milestone_points as (

    select
        milestones.person_id,
        milestones.point_at,
        milestones.point_sequence,
        milestones.to_stage,
        milestones.trigger,
        cast(null as {{ lifecycle.text_type() }}) as order_id
    from milestones
    left join first_orders on first_orders.person_id = milestones.person_id
    where milestones.point_at is not null
        and (milestones.before_at is null or milestones.point_at < milestones.before_at)
        and (first_orders.first_order_at is null or milestones.point_at < first_orders.first_order_at)

),

order_points as (

    select
        person_id,
        ordered_at as point_at,
        10 + 3 * order_number as point_sequence,
        {{ lifecycle.stage_after_order('order_number') }} as to_stage,
        case when order_number = 1 then 'first_order' else 'repeat_order' end as trigger,
        order_id
    from orders

),

-- Lapse sequence numbers (11 + 3n at_risk, 12 + 3n churned) as commented at milestones.
-- A lapse happens `lapse_days` after an order when no next order came first and it is before as_of.
lapse_rules as (

    select 'at_risk' as to_stage, {{ var('at_risk_days') }} as lapse_days, 11 as sequence_base
    union all
    select 'churned' as to_stage, {{ var('churn_days') }} as lapse_days, 12 as sequence_base

),

lapses as (

    select
        orders_with_next.person_id,
        {{ dbt.dateadd('day', 'lapse_rules.lapse_days', 'orders_with_next.ordered_at') }} as point_at,
        lapse_rules.sequence_base + 3 * orders_with_next.order_number as point_sequence,
        lapse_rules.to_stage,
        'no_order_' || lapse_rules.lapse_days || '_days' as trigger,
        orders_with_next.order_id,
        orders_with_next.next_ordered_at
    from orders_with_next
    cross join lapse_rules

),

lapse_points as (

    select
        lapses.person_id,
        lapses.point_at,
        lapses.point_sequence,
        lapses.to_stage,
        lapses.trigger,
        lapses.order_id
    from lapses
    cross join as_of
    where lapses.point_at < as_of.as_of
        and (lapses.next_ordered_at is null or lapses.next_ordered_at > lapses.point_at)

),

stage_points as (

    select * from milestone_points
    union all
    select * from order_points
    union all
    select * from lapse_points

),

with_previous as (

    select
        *,
        lag(to_stage) over (partition by person_id order by point_at, point_sequence) as previous_stage
    from stage_points

),

changes as (

    select *
    from with_previous
    where previous_stage is null or previous_stage <> to_stage

),

final as (

    select
        person_id,
        previous_stage as from_stage,
        to_stage,
        point_at as transitioned_at,
        case
            when previous_stage in ('at_risk', 'churned') and trigger = 'repeat_order' then 'reactivation'
            else trigger
        end as trigger,
        order_id as trigger_order_id,
        row_number() over (partition by person_id order by point_at, point_sequence) as transition_number,
        {{ lifecycle_surrogate_key(['person_id', 'point_at', 'point_sequence']) }} as transition_id
    from changes

)

select * from final
