"""From stored items to numbers and pictures: statistics, charts, exports and browsing."""
