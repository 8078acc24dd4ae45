def restock(items, minimum):
	"""Return the names of items below the minimum count."""
	low = []
	for name, count in items.items():
		if count < minimum:
			low.append(name)
	return sorted(low)


if __name__ == "__main__":
	print(restock({"bolts": 3, "nuts": 12, "screws": 1}, 5))
