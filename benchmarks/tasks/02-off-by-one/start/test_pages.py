from pages import page, page_count

assert page_count(0, 10) == 0
assert page_count(10, 10) == 1
assert page_count(11, 10) == 2
assert page_count(25, 10) == 3
assert page(list(range(25)), 3, 10) == [20, 21, 22, 23, 24]
print("all tests passed")
