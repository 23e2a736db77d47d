{{ config(severity='warn') }}
-- An "Order Refunded" whose amount is present but does not parse is not applied to its order
-- (int_orders_netted); a warning names the orders so someone can correct the source.
select order_id, unreadable_refund_amounts
from {{ ref('int_orders_netted') }}
where unreadable_refund_amounts > 0
