from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from lifecycle.catalog.models import Dataset
from lifecycle.dataprep.filtersets import DatasetFilterSet
from lifecycle.dataprep.kpis import UPLOAD_AGE, dataset_rows


def index(request: HttpRequest) -> HttpResponse:
    datasets = DatasetFilterSet(request.GET, queryset=Dataset.objects.all())
    return render(
        request,
        "dataprep/index.html",
        {
            "filter_form": datasets.form,
            "rows": dataset_rows(datasets.qs, now=timezone.now()),
            "upload_age": UPLOAD_AGE,
        },
    )
