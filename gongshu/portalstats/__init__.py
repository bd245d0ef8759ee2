"""The open-data portal's statistics, open list (开放清单), Atom feeds and subscriptions.

- :mod:`.collector` counts views, downloads and API calls in memory and adds them to the
  daily table in the background (a request never waits for the database to count);
- :mod:`.queries` reads the figures for the statistics page, its JSON and the bureau's view;
- :mod:`.openlist` builds the open list from open type and level (one rule:
  :mod:`gongshu.portal.openness`);
- :mod:`.feeds` writes the Atom feeds; :mod:`.subscriptions` keeps who follows what and
  tells them when a followed public entry gets a new live version.
"""
