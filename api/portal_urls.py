"""The customer's pages below the hub, `c/<token>/...` (config/urls.py): each view takes the
token first and opens the link with `api.portal_pages.portal_page`."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
