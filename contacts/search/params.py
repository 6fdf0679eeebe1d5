"""The GET parameters of a search, besides the filters (which are the API's own names and the
dashboard's, in `contacts.contact.query`). One place, so that a link built anywhere says the
same thing."""

PAGE_PARAM = "page"
# With the dashboard's own filters, a page continues from an upstream offset instead of a number:
# START_PARAM is the offset of the next contact to read, SEEN_PARAM the rows shown before.
START_PARAM = "start"
SEEN_PARAM = "seen"
REFRESH_PARAM = "refresh"
# ?wait=1: the whole page once Contactship has answered, however long that takes. A page load
# without it shows the page at once when the answer is slow, and that page asks again with it
# (its results region through htmx, or the browser itself without a script).
WAIT_PARAM = "wait"
BOM_PARAM = "bom"  # ?bom=0: plain UTF-8 CSV, for tools that do not expect a byte order mark
# The chosen columns, in order (contacts.contact.columns); empty: the default ones.
COLUMNS_PARAM = "columns"
# ?choose_columns=1: the page with the picker open (it is left out of other pages, so that its
# many labels do not crowd the page, nor a screen reader's list of form fields).
CHOOSE_PARAM = "choose_columns"
# The column picker's plain form: the keys in the picker's order, the ticked ones, a move
# ("up:<key>"/"down:<key>") and an additional-data field typed by name; "reset" forgets the
# remembered choice.
PICK_PARAM, PICK_ORDER, PICK_SHOWN, PICK_MOVE, PICK_ADD = "pick", "order", "shown", "move", "add"
RESET_PARAM = "reset"
FORM_ONLY = ("csrfmiddlewaretoken", RESET_PARAM)
PICKER_PARAMS = (
    PICK_PARAM,
    PICK_ORDER,
    PICK_SHOWN,
    PICK_MOVE,
    PICK_ADD,
    COLUMNS_PARAM,
    CHOOSE_PARAM,
)

# Far beyond any real result; keeps the offset sent upstream a sane number.
MAX_PAGE = 100_000

# ?view=<slug>: the saved view this search was opened from (`contacts.saved`): links keep it, the
# summary and the downloads say so, and the page shows whether the search still matches it.
VIEW_PARAM = "view"
