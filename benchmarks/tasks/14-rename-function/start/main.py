from report import describe
from shop import calc

orders = {"ana": {"apple": 4, "milk": 1}, "ben": {"bread": 2}}
for name, order in orders.items():
    print(describe(name, order))
print(f"total: {sum(calc(o) for o in orders.values()):.2f}")
