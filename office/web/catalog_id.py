"""Bahasa Indonesia for the office pages: English source -> Indonesian (see :mod:`office.web.i18n`)."""

INDONESIAN: dict[str, str] = {
    # Frame and navigation
    "Dukcapil office": "Kantor Dukcapil",
    "Counter": "Loket",
    "Kiosks": "Kios",
    "Service notices": "Pengumuman layanan",
    "Audit": "Audit",
    "Log in": "Masuk",
    "Log out": "Keluar",
    "User name": "Nama pengguna",
    "Password": "Kata sandi",
    "Wrong user name or password.": "Nama pengguna atau kata sandi salah.",
    "Too many wrong passwords: this account is locked for 15 minutes.": (
        "Terlalu banyak kata sandi salah: akun ini dikunci selama 15 menit."
    ),
    "Please log in.": "Silakan masuk.",
    "Not possible": "Tidak dapat dilakukan",
    "Back to the counter": "Kembali ke loket",
    "officer": "petugas loket",
    "supervisor": "supervisor",
    "admin": "admin",
    # Counter
    "Reference code or receipt QR": "Kode referensi atau QR tanda terima",
    "Open": "Buka",
    "Type the code from the receipt, or scan its QR code: the scanner presses Enter.": (
        "Ketik kode dari tanda terima, atau pindai kode QR-nya: pemindai menekan Enter sendiri."
    ),
    "Several records share this code: choose by kiosk and time.": (
        "Beberapa data memakai kode ini: pilih menurut kios dan waktu."
    ),
    "Today's pre-registrations": "Pendaftaran awal hari ini",
    "Records found": "Data yang ditemukan",
    "NIK": "NIK",
    "Day": "Tanggal",
    "Kiosk": "Kios",
    "State": "Status",
    "all": "semua",
    "Search": "Cari",
    "Code": "Kode",
    "Service": "Layanan",
    "Captured": "Direkam",
    "Received": "Diterima",
    "No records.": "Tidak ada data.",
    "Export for SIAK": "Ekspor untuk SIAK",
    "Checked": "Diperiksa",
    "Has issues": "Ada masalah",
    "Served": "Dilayani",
    "Forwarded to SIAK": "Diteruskan ke SIAK",
    "Rejected": "Ditolak",
    "USB bundle": "paket USB",
    "Received after the kiosk was revoked: check with a supervisor.": (
        "Diterima setelah kios dicabut: periksa dengan supervisor."
    ),
    "State saved.": "Status disimpan.",
    "Documents saved.": "Dokumen disimpan.",
    "Data": "Data",
    "Photo": "Foto",
    "Signature": "Tanda tangan",
    "No photo: take it at the counter.": "Belum ada foto: ambil di loket.",
    "No photo.": "Tidak ada foto.",
    "No signature.": "Tidak ada tanda tangan.",
    "Documents brought": "Dokumen yang dibawa",
    "if applicable": "jika ada",
    "Save documents": "Simpan dokumen",
    "This office has no checklist for the service {service}.": (
        "Kantor ini tidak punya daftar dokumen untuk layanan {service}."
    ),
    "Next step": "Langkah berikutnya",
    "Comment (required for issues and rejections)": "Catatan (wajib untuk masalah dan penolakan)",
    "This record is closed.": "Data ini sudah selesai.",
    "History": "Riwayat",
    "When": "Waktu",
    "Who": "Oleh",
    "What": "Tindakan",
    "Detail": "Rincian",
    "Record": "Data",
    # Counter sentences
    "Type the reference code or scan the receipt.": "Ketik kode referensi atau pindai tanda terima.",
    "{text} is not a reference code: a code has 11 letters and digits, like 7KQ2-M9XD-4RA.": (
        "{text} bukan kode referensi: kode terdiri dari 11 huruf dan angka, seperti 7KQ2-M9XD-4RA."
    ),
    "No record with the code {code} has arrived. Scan the receipt's QR code to check it offline.": (
        "Belum ada data dengan kode {code}. Pindai kode QR tanda terima untuk memeriksanya tanpa jaringan."
    ),
    "This QR code is not a receipt from a Dukcapil kiosk, or it is damaged.": (
        "Kode QR ini bukan tanda terima dari kios Dukcapil, atau rusak."
    ),
    "Refused: this receipt names kiosk {kiosk}, which is not enrolled at this office. It may be forged.": (
        "Ditolak: tanda terima ini menyebut kios {kiosk}, yang tidak terdaftar di kantor ini. "
        "Mungkin dipalsukan."
    ),
    "Refused: this receipt was not signed by kiosk {kiosk}. It is forged or was altered.": (
        "Ditolak: tanda terima ini tidak ditandatangani oleh kios {kiosk}. Tanda terima palsu atau diubah."
    ),
    "Refused: this receipt does not match what kiosk {kiosk} delivered. Ask a supervisor.": (
        "Ditolak: tanda terima ini tidak cocok dengan data yang dikirim kios {kiosk}. Tanyakan supervisor."
    ),
    "Genuine receipt {code}: captured at {kiosk} on {date} at {time}, not received yet": (
        "Tanda terima asli {code}: direkam di {kiosk} pada {date} pukul {time}, belum diterima"
    ),
    "the kiosk has been revoked.": "kios ini sudah dicabut.",
    "the kiosk has never been heard from.": "kios ini belum pernah mengirim kabar.",
    "the kiosk is offline since {since}.": "kios offline sejak {since}.",
    "the kiosk was last heard at {since}; the record should arrive soon.": (
        "kabar terakhir dari kios pukul {since}; data akan segera tiba."
    ),
    "There is no record {record} from kiosk {kiosk}.": "Tidak ada data {record} dari kios {kiosk}.",
    "This record cannot be opened with this office's key.": (
        "Data ini tidak dapat dibuka dengan kunci kantor ini."
    ),
    "Unknown document: {document}.": "Dokumen tidak dikenal: {document}.",
    "This record is closed ({state}); nothing can change any more.": (
        "Data ini sudah selesai ({state}); tidak ada yang dapat diubah lagi."
    ),
    "Unknown state: {state}.": "Status tidak dikenal: {state}.",
    "A record that is {old} cannot become {new}.": "Data berstatus {old} tidak dapat menjadi {new}.",
    "Write what is wrong in the comment.": "Tulis masalahnya di catatan.",
    "Someone else changed this record meanwhile: reload the page.": (
        "Petugas lain baru saja mengubah data ini: muat ulang halaman."
    ),
    "{text} is not a date (YYYY-MM-DD).": "{text} bukan tanggal (TTTT-BB-HH).",
    "A NIK has 16 digits.": "NIK terdiri dari 16 angka.",
    "Export as csv or json.": "Ekspor sebagai csv atau json.",
    "This form has expired or came from another site. Reload the page and try again.": (
        "Formulir ini kedaluwarsa atau berasal dari situs lain. Muat ulang halaman dan coba lagi."
    ),
    "Your role ({role}) may not open this page: it needs {needed}.": (
        "Peran Anda ({role}) tidak boleh membuka halaman ini: diperlukan {needed}."
    ),
    # Fleet
    "Alerts": "Peringatan",
    "No alerts: every kiosk is well.": "Tidak ada peringatan: semua kios baik.",
    "Last heartbeat": "Kabar terakhir",
    "Devices": "Perangkat",
    "Queue": "Antrean",
    "Oldest waiting": "Terlama menunggu",
    "Power": "Daya",
    "Version": "Versi",
    "Wrong PINs": "PIN salah",
    "Last 7 days": "7 hari terakhir",
    "revoked": "dicabut",
    "silent": "diam",
    "never": "belum pernah",
    "rejected": "ditolak",
    "battery": "baterai",
    "mains": "listrik PLN",
    "ok": "baik",
    "degraded": "terganggu",
    "failed": "rusak",
    "off": "mati",
    # The kiosk's devices and their health on the fleet page (office/fleet.py)
    "Camera": "Kamera",
    "Signature pad": "Pad tanda tangan",
    "UPS and battery": "UPS dan baterai",
    "Receipt printer": "Printer struk",
    "camera": "kamera",
    "signature pad": "pad tanda tangan",
    "UPS": "UPS",
    "receipt printer": "printer struk",
    "working": "berfungsi",
    "switched off": "dimatikan",
    "Chart: a green foot for every hour the kiosk was heard; blue bars show its queue.": (
        "Grafik: garis hijau untuk setiap jam kios mengirim kabar; batang biru menunjukkan antreannya."
    ),
    "{kiosk} has never sent a heartbeat.": "{kiosk} belum pernah mengirim kabar.",
    "{kiosk} is silent since {since}.": "{kiosk} diam sejak {since}.",
    "{kiosk}: the {device} has failed ({detail}).": "{kiosk}: {device} rusak ({detail}).",
    "{kiosk} runs on battery.": "{kiosk} berjalan dengan baterai.",
    "{kiosk}: battery low.": "{kiosk}: baterai lemah.",
    "{kiosk} holds {count} rejected records.": "{kiosk} menyimpan {count} data yang ditolak.",
    "{kiosk}: a record waits for {hours} hours.": "{kiosk}: ada data yang menunggu {hours} jam.",
    "{kiosk}: {count} wrong maintenance PINs.": "{kiosk}: {count} PIN pemeliharaan salah.",
    "{kiosk}: maintenance entry blocked after repeated wrong PINs (run kiosk set-pin there).": (
        "{kiosk}: masuk pemeliharaan diblokir karena PIN berkali-kali salah (jalankan kiosk set-pin di sana)."
    ),
    # Notices
    "Kiosks show these on the service choice screen and print them on the receipt. "
    "They end by themselves at the end of the day.": (
        "Kios menampilkannya di layar pilihan layanan dan mencetaknya di tanda terima. "
        "Pengumuman berakhir sendiri pada akhir hari."
    ),
    "Level": "Tingkat",
    "Text": "Teks",
    "Until": "Sampai",
    "By": "Oleh",
    "Withdraw": "Cabut",
    "No notices: every counter service is open.": "Tidak ada pengumuman: semua layanan loket buka.",
    "New notice for today": "Pengumuman baru untuk hari ini",
    "Text in Bahasa Indonesia": "Teks dalam Bahasa Indonesia",
    "Text in English": "Teks dalam bahasa Inggris",
    "Publish until the end of the day": "Terbitkan sampai akhir hari",
    "unavailable": "tidak tersedia",
    "limited": "terbatas",
    "Unknown service: {service}.": "Layanan tidak dikenal: {service}.",
    "There is no such notice.": "Pengumuman itu tidak ada.",
    "Choose unavailable or limited.": "Pilih tidak tersedia atau terbatas.",
    "Write the notice in at least one language.": "Tulis pengumuman dalam sekurang-kurangnya satu bahasa.",
    "A notice has at most 200 characters per language.": "Pengumuman paling banyak 200 karakter per bahasa.",
    # USB bundles
    "USB bundles": "Paket USB",
    "When a kiosk has been offline for days, a technician exports its waiting records to a USB stick. "
    "Upload that bundle here: the records are imported (a bundle imported twice stores nothing twice) "
    "and you download the signed acknowledgement to carry back to the kiosk.": (
        "Bila kios offline berhari-hari, teknisi mengekspor data yang menunggu ke flashdisk. Unggah paket "
        "itu di sini: datanya diimpor (paket yang diimpor dua kali tidak menyimpan apa pun dua kali) dan "
        "Anda mengunduh tanda terima bertanda tangan untuk dibawa kembali ke kios."
    ),
    "Bundle file (.bundle.tar)": "Berkas paket (.bundle.tar)",
    "Import and download the acknowledgement": "Impor dan unduh tanda terima",
    "Choose the bundle file first.": "Pilih berkas paket terlebih dahulu.",
    "This file is not a bundle this office can import: {reason}": (
        "Berkas ini bukan paket yang dapat diimpor kantor ini: {reason}"
    ),
    "This file is too large for a bundle.": "Berkas ini terlalu besar untuk sebuah paket.",
    # Audit actions (office.web.i18n.ACTIONS)
    "logged in": "masuk",
    "login refused": "gagal masuk",
    "viewed the record": "melihat data",
    "documents ticked": "mencentang dokumen",
    "state changed": "mengubah status",
    "day exported": "mengekspor hari",
    "searched by NIK": "mencari menurut NIK",
    "forged receipt refused": "menolak tanda terima palsu",
    "account created": "membuat akun",
    "password set": "mengganti kata sandi",
    "notice published": "menerbitkan pengumuman",
    "notice withdrawn": "mencabut pengumuman",
    "USB bundle imported": "mengimpor paket USB",
    "USB bundle refused": "menolak paket USB",
}
