"""Brazilian Portuguese: a date and time as 05/03/2024 às 09:07.

Django's own, "5 de Março de 2024 às 09:07", writes the month with a capital, which Brazilian
Portuguese does not; a format cannot lower it, so the date is written in figures, as Brazilian
software and documents usually show a moment.
"""

DATETIME_FORMAT = r"d/m/Y \à\s H:i"
